"""The recommender API over Qdrant (local mode and a real server) and a real Redis: personal and
cold-start answers, owned items excluded, the cache (hit, miss, invalidation, stampede), model
swap without a failed request, cross-game isolation, forgetting."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
import redis

from recommender.cache import AnswerCache
from recommender.foldin import FoldIn
from recommender.forget import forget_with
from recommender.vectors import VectorStore
from tests.recommender.helpers import REC, Api, token, train_simulated

pytestmark = pytest.mark.integration


def run(coro):
    return asyncio.run(coro)


class Scenario:
    """One store, one cache, one in-process API on the test's settings."""

    def __init__(self, settings):
        self.settings = settings

    async def __aenter__(self):
        self.store = VectorStore.open(self.settings, REC)
        self.cache = AnswerCache.connect(self.settings.redis_url, self.store.names.namespace, REC)
        self.api = Api(self.settings, self.store, self.cache)
        return self

    async def __aexit__(self, *exc):
        await self.api.close()
        await self.cache.close()
        await self.store.close()


def processed_batch(game_id: str, player_id: str, items: list[str], event_type: str = "purchase") -> dict:
    now = int(time.time() * 1000)
    events = [{"event": {"event_id": f"e-{player_id}-{i}-{now}", "event_type": event_type, "player_id": player_id,
                         "ts": now, "event_time": now, "session_id": None, "platform": "ios", "app_version": None,
                         "country": "DE", "properties": {"item_id": item, "amount": 1.99, "currency": "USD"}},
               "is_new_player": False, "session_seq": None, "revenue_usd": 1.99}
              for i, item in enumerate(items)]
    return {"batch_id": f"b-{player_id}-{now}-{len(items)}", "game_id": game_id, "player_id": player_id,
            "received_at": now, "processed_at": now + 1, "events": events}


def test_a_known_player_gets_personal_items_without_what_they_own(rec_settings):
    async def scenario():
        async with Scenario(rec_settings) as s:
            trained = await train_simulated(s.store, "g1")
            player = trained.matrix.player_ids[0]
            owned = set(trained.matrix.owned_by(player))
            response = await s.api.recommend("g1", player, k=10)
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["strategy"] == "personal" and body["model_version"] == trained.model_id
            items = [i["item_id"] for i in body["items"]]
            assert len(items) == 10 and not owned & set(items)
            assert all(i.startswith("item-") for i in items)  # only store items, never levels or modes
            scores = [i["score"] for i in body["items"]]
            assert scores == sorted(scores, reverse=True)
            with_owned = (await s.api.recommend("g1", player, k=60, exclude_owned="false")).json()
            assert owned <= {i["item_id"] for i in with_owned["items"]}
            similar = (await s.api.similar("g1", player, k=5)).json()
            assert similar["strategy"] == "similar" and len(similar["players"]) == 5
            assert player not in {p["player_id"] for p in similar["players"]}

    run(scenario())


def test_an_unknown_player_gets_the_popular_items_of_their_segment(rec_settings):
    async def scenario():
        async with Scenario(rec_settings) as s:
            trained = await train_simulated(s.store, "g1")
            body = (await s.api.recommend("g1", "brand-new", k=5, platform="ios", country="DE")).json()
            assert body["strategy"] == "popular" and body["segment"] == "ios|DE"
            assert [i["item_id"] for i in body["items"]] == trained.popular["ios|DE"][:5]
            anywhere = (await s.api.recommend("g1", "brand-new-2", k=5)).json()
            assert anywhere["strategy"] == "popular" and anywhere["segment"] == "*|*"
            assert [i["item_id"] for i in anywhere["items"]] == trained.popular["*|*"][:5]
            assert (await s.api.similar("g1", "brand-new")).json()["players"] == []

    run(scenario())


def test_cache_hit_miss_and_invalidation_when_the_player_plays(rec_settings):
    async def scenario():
        async with Scenario(rec_settings) as s:
            trained = await train_simulated(s.store, "g1")
            player = trained.matrix.player_ids[1]
            first = await s.api.recommend("g1", player)
            second = await s.api.recommend("g1", player)
            assert (first.headers["X-Cache"], second.headers["X-Cache"]) == ("miss", "hit")
            assert first.json() == second.json()
            top = [i["item_id"] for i in first.json()["items"]]
            # the player buys their top three: the fold-in drops their cache entries, the next answer is new
            records = await FoldIn(s.store, s.cache, REC).apply([processed_batch("g1", player, top[:3])])
            assert records and records[0]["player_id"] == player
            assert not set(top[:3]) & {i["item_id"] for i in records[0]["items"]}
            third = await s.api.recommend("g1", player)
            assert third.headers["X-Cache"] == "miss"
            assert not set(top[:3]) & {i["item_id"] for i in third.json()["items"]}
            assert (await s.api.recommend("g1", player)).headers["X-Cache"] == "hit"

    run(scenario())


def test_concurrent_misses_of_one_key_compute_once(rec_settings):
    async def scenario():
        async with Scenario(rec_settings) as s:
            trained = await train_simulated(s.store, "g1")
            player = trained.matrix.player_ids[2]
            calls = 0
            real = s.store.search_items

            async def counted(*args, **kwargs):
                nonlocal calls
                calls += 1
                await asyncio.sleep(0.05)  # a slow Qdrant: every request arrives during the recompute
                return await real(*args, **kwargs)

            s.store.search_items = counted
            answers = await asyncio.gather(*(s.api.recommend("g1", player) for _ in range(20)))
            assert {a.status_code for a in answers} == {200}
            assert calls == 1
            assert sorted(a.headers["X-Cache"] for a in answers).count("miss") == 1
            assert len({a.content for a in answers}) == 1

    run(scenario())


def test_a_model_swap_fails_no_request(rec_settings):
    async def scenario():
        async with Scenario(rec_settings) as s:
            first = await train_simulated(s.store, "g1", seed=0)
            player = first.matrix.player_ids[0]
            statuses, versions = [], set()
            stop = asyncio.Event()

            async def hammer():
                while not stop.is_set():
                    for p in (player, "cold-player"):
                        r = await s.api.recommend("g1", p, k=5)
                        statuses.append(r.status_code)
                        if r.status_code == 200:
                            versions.add(r.json()["model_version"])
                    await asyncio.sleep(0)

            task = asyncio.create_task(hammer())
            while not versions:  # answers of the first model are flowing
                await asyncio.sleep(0.01)
            second = await train_simulated(s.store, "g1", seed=0)
            await asyncio.sleep(REC.model_refresh_s * 3)
            stop.set()
            await task
            assert statuses and set(statuses) == {200}, f"non-200 answers during the swap: {set(statuses)}"
            assert versions == {first.model_id, second.model_id}
            assert await s.store.live_model_id("g1") == second.model_id
            models = [m["model_id"] for m in await s.store.list_models("g1")]
            assert models == [first.model_id, second.model_id]

    run(scenario())


def test_games_are_isolated_by_collections_and_by_token(rec_settings):
    async def scenario():
        async with Scenario(rec_settings) as s:
            a = await train_simulated(s.store, "game-a", seed=1)
            b = await train_simulated(s.store, "game-b", seed=2)
            player_a = a.matrix.player_ids[0]
            forbidden = await s.api.recommend("game-b", player_a, headers=token(["game-a"]))
            assert forbidden.status_code == 403 and "game-b" in forbidden.json()["detail"]
            assert (await s.api.similar("game-b", player_a, headers=token(["game-a"]))).status_code == 403
            assert (await s.api.recommend("game-a", player_a, headers={})).status_code == 401
            assert (await s.api.recommend("game-a", player_a, headers={"Authorization": "Bearer nope"})).status_code == 401
            # a game-a player is unknown to game-b, whose items are game-b's only
            in_b = (await s.api.recommend("game-b", player_a, headers=token(["*"]))).json()
            assert in_b["strategy"] == "popular" and in_b["model_version"] == b.model_id
            similar_in_a = (await s.api.similar("game-a", player_a)).json()["players"]
            assert set(p["player_id"] for p in similar_in_a) <= set(a.matrix.player_ids)
            assert await s.store.player("game-b", player_a) is None

    run(scenario())


def test_forget_leaves_no_trace(rec_settings):
    async def scenario():
        async with Scenario(rec_settings) as s:
            await train_simulated(s.store, "g1", seed=0)
            trained = await train_simulated(s.store, "g1", seed=0)  # two model versions hold the player
            player = trained.matrix.player_ids[3]
            await s.api.recommend("g1", player)
            await s.api.similar("g1", player)
            assert await s.store.count_player("g1", player) == 2
            counts = await forget_with(s.store, s.cache, "g1", player)
            assert counts == {"qdrant_points": 2, "redis_keys": 1, "interaction_rows": 0}
            assert await s.store.count_player("g1", player) == 0
            redis_client = redis.Redis.from_url(rec_settings.redis_url)
            assert redis_client.exists(s.cache.key("g1", player), s.cache.key("g1", player) + ":locks") == 0
            redis_client.close()
            assert await forget_with(s.store, s.cache, "g1", player) == {"qdrant_points": 0, "redis_keys": 0,
                                                                        "interaction_rows": 0}
            after = (await s.api.recommend("g1", player)).json()
            assert after["strategy"] == "popular"
            others = [p["player_id"] for p in (await s.api.similar("g1", trained.matrix.player_ids[4], k=300)).json()["players"]]
            assert player not in others

    run(scenario())


def test_no_model_yet_is_a_404_that_says_how_to_train(rec_settings):
    async def scenario():
        async with Scenario(rec_settings) as s:
            response = await s.api.recommend("untrained", "p1")
            assert response.status_code == 404 and "recommender train --game untrained" in response.json()["detail"]

    run(scenario())


def test_fold_in_of_a_replayed_batch_changes_nothing(rec_settings):
    async def scenario():
        async with Scenario(rec_settings) as s:
            trained = await train_simulated(s.store, "g1")
            player = trained.matrix.player_ids[5]
            fold = FoldIn(s.store, s.cache, REC)
            batch = processed_batch("g1", player, ["item-1"])
            assert len(await fold.apply([batch])) == 1
            before = await s.store.player("g1", player)
            assert await fold.apply([batch]) == []
            after = await s.store.player("g1", player)
            np.testing.assert_allclose(before.vector, after.vector)
            assert "item-1" in after.owned

    run(scenario())


def test_the_owner_of_the_embedded_store_skips_the_cross_process_lock(isolated):
    """Another process's lock makes a shared-store API wait up to cache_wait_ms for its answer; the one
    process that owns the embedded store has no one to wait for and computes at once."""
    rec = REC.model_copy(update={"cache_wait_ms": 1_000})

    async def miss_seconds(one_process: bool) -> float:
        cache = AnswerCache.connect(isolated.redis_url, f"lock-{int(one_process)}-{time.time_ns()}", rec,
                                    one_process=one_process)
        try:
            key = cache.key("g1", "p1")
            client = redis.Redis.from_url(isolated.redis_url)
            client.hset(key + ":locks", "f", b"1")  # a recompute of another process in progress
            client.close()

            async def compute() -> bytes:
                return b"{}"

            started = time.perf_counter()
            assert await cache.get_or_compute("g1", "p1", "f", compute) == (b"{}", "miss")
            return time.perf_counter() - started
        finally:
            await cache.close()

    assert run(miss_seconds(one_process=False)) >= 1.0
    assert run(miss_seconds(one_process=True)) < 0.5
