"""The cache-hit fast path (recommender/fast.py) answers exactly what the app answers: the same bytes
on a hit, and every refusal (401, 403, 422) and every miss left to the app, with its messages."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from gamemetrics.errors import TokenRejected
from gamemetrics.tokens import issue_token
from recommender.fast import VerifiedTokens, _query
from tests.recommender.helpers import TOKENS, token, train_simulated
from tests.recommender.test_service import Scenario


def test_query_parsing_matches_the_apps_rules_or_leaves_the_judgement_to_it():
    assert _query(b"game_id=g1", 100, 10) == ("g1", 10, True, None, None)
    assert _query(b"game_id=g1&k=500&exclude_owned=FALSE&platform=ios&country=DE", 100, 10) == ("g1", 100, False, "ios", "DE")
    assert _query(b"game_id=g%20x&k=3&k=4&platform=", 100, 10) == ("g x", 4, True, None, None)
    for refused in (b"", b"game_id=", b"game_id=g1&k=0", b"game_id=g1&k=-1", b"game_id=g1&k=x",
                    b"game_id=g1&exclude_owned=maybe", b"game_id=g1&country=DEU", b"game_id=" + b"g" * 201):
        assert _query(refused, 100, 10) is None, refused


def test_verified_tokens_are_remembered_and_bad_ones_still_refused():
    tokens = VerifiedTokens(TOKENS, limit=2)
    good = issue_token(TOKENS, "analyst", ["g1"], timedelta(minutes=5))
    assert tokens.verify(good) is tokens.verify(good)
    with pytest.raises(TokenRejected):
        tokens.verify(good[:-2] + ("AA" if good[-2:] != "AA" else "BB"))
    expired = issue_token(TOKENS, "analyst", ["g1"], timedelta(seconds=1), now=datetime(2020, 1, 1, tzinfo=timezone.utc))
    with pytest.raises(TokenRejected):
        tokens.verify(expired)


@pytest.mark.integration
def test_the_fast_path_and_the_app_give_the_same_answers(rec_settings, qdrant_mode):
    if qdrant_mode == "server":
        pytest.skip("the fast path reads only Redis and the process's model: one Qdrant variant is enough")

    async def scenario():
        async with Scenario(rec_settings) as s:
            trained = await train_simulated(s.store, "g1")
            player = trained.matrix.player_ids[0]
            for params in ({}, {"k": 3}, {"k": 3, "exclude_owned": "false"}, {"platform": "ios", "country": "DE"}):
                miss = await s.api.recommend("g1", player, **params)
                hit = await s.api.recommend("g1", player, **params)
                assert (miss.headers["X-Cache"], hit.headers["X-Cache"]) == ("miss", "hit"), params
                assert hit.content == miss.content and hit.headers["content-type"] == "application/json"
            assert (await s.api.recommend("g1", player, headers={})).status_code == 401
            forbidden = await s.api.recommend("g1", player, headers=token(["g2"]))
            assert forbidden.status_code == 403 and "g1" in forbidden.json()["detail"]
            assert (await s.api.recommend("g1", player, k=0)).status_code == 422
            assert (await s.api.recommend("g1", "nobody")).headers["X-Cache"] == "miss"

    asyncio.run(scenario())
