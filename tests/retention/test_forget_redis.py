"""The Redis part of an erase (issue 21, item 5), on the stack's Redis: only the player's keys of this
game (by name, no SCAN), other players' cached similar-player answers naming them purged, exact counts,
and no raw player id in any log line."""

from __future__ import annotations

import asyncio
import uuid

import orjson
import pytest
import redis
from structlog.testing import capture_logs

from recommender.cache import AnswerCache, player_key, player_keys
from recommender.settings import RecommenderSettings
from recommender.vectors import safe_name
from retention.gdpr.forgetters import ForgetContext, forget_redis
from retention.settings import OtherStages

pytestmark = pytest.mark.integration


def similar_answer(asker: str, players: list[str]) -> bytes:
    return orjson.dumps({"player_id": asker, "strategy": "similar",
                         "players": [{"player_id": p, "score": 0.9} for p in players]})


def test_forget_redis_removes_the_players_keys_and_answers_naming_them_and_nothing_else(isolated):
    ns = safe_name(isolated.database_schema)
    game, other_game = f"g-{uuid.uuid4().hex[:6]}", f"h-{uuid.uuid4().hex[:6]}"
    ana, bo, cy = (f"{n}-{uuid.uuid4().hex[:6]}" for n in ("ana", "bo", "cy"))
    client = redis.Redis.from_url(isolated.redis_url)
    cache = AnswerCache.connect(isolated.redis_url, ns, RecommenderSettings())

    async def cached_answers() -> None:
        # what the recommender API does when it answers "similar players" for bo and cy
        await cache.note_named(game, bo, [ana, cy])
        await cache.note_named(game, cy, [bo])
        await cache.close()

    asyncio.run(cached_answers())
    client.hset(player_key(ns, game, ana), "m1|rec|k=10", b"ana's items")
    client.hset(player_key(ns, game, ana) + ":locks", "m1|rec|k=10", b"1")
    client.hset(player_key(ns, game, bo), mapping={"m1|similar|k=10": similar_answer(bo, [ana, cy]),
                                                   "m1|rec|k=10": b"bo's items"})
    client.hset(player_key(ns, game, cy), "m1|similar|k=10", similar_answer(cy, [bo]))
    # keys that merely contain the id: another game, another tenant, a rate-limit key
    strangers = [player_key(ns, other_game, ana), f"othertenant:{ana}", f"gm:ratelimit:{ana}"]
    for key in strangers:
        client.set(key, b"keep")
    try:
        ctx = ForgetContext(isolated, None, None, None, game, ana, "hash-of-ana", OtherStages.load())  # type: ignore[arg-type]
        with capture_logs() as logs:
            counts = forget_redis(ctx)
        assert counts == {"redis_keys": 3, "answers_naming_player": 1}  # answers, locks, named-in; bo's answer
        assert not any(client.exists(k) for k in player_keys(ns, game, ana))
        assert client.hgetall(player_key(ns, game, bo)) == {b"m1|rec|k=10": b"bo's items"}
        assert client.hget(player_key(ns, game, cy), "m1|similar|k=10") == similar_answer(cy, [bo])
        assert all(client.get(k) == b"keep" for k in strangers)
        assert logs and all(ana not in str(entry) for entry in logs)
        assert any(entry.get("player_hash") == "hash-of-ana" for entry in logs)
        assert forget_redis(ctx) == {"redis_keys": 0, "answers_naming_player": 0}  # idempotent, exact
    finally:
        client.delete(*strangers, *player_keys(ns, game, bo), *player_keys(ns, game, cy))
        client.close()
