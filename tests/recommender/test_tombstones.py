"""The recommender checks tombstones (issue 21, item 4): the fold-in does not rebuild an erased player
from the processed topic, and a training run that read PostgreSQL before an erase drops that player
before it publishes. Real PostgreSQL (tombstones written by erase requests), Redis, and Qdrant in
local mode and on a server."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from operations.history import history_columns, history_segments
from operations.simulate import Tastes, simulate_history
from recommender.cache import AnswerCache
from recommender.foldin import FoldIn
from recommender.training import fit, publish
from recommender.vectors import VectorStore
from retention.gdpr import requests
from store import db
from store.audit import AuditLog
from store.games import create_game
from store.privacy import PlayerHasher
from store.tombstones import TombstoneCheck, erased_since_read
from tests.graphql_api.processed import processed_batch
from tests.recommender.helpers import REC, train_simulated

pytestmark = pytest.mark.integration


def erase(settings, game_id: str, player_id: str) -> None:
    with db.connect(settings, autocommit=True) as conn:
        requests.create(conn, PlayerHasher.of(settings), AuditLog.of(settings), "erase", game_id, player_id, "test")


def test_fold_in_does_not_rebuild_an_erased_player(rec_settings):
    with db.connect(rec_settings, autocommit=True) as conn:
        game_id = create_game(conn, f"fold-{uuid.uuid4().hex[:6]}").game_id
    ana, bo = f"ana-{uuid.uuid4().hex[:6]}", f"bo-{uuid.uuid4().hex[:6]}"

    async def run() -> tuple[list[dict], dict]:
        store = VectorStore.open(rec_settings, REC)
        cache = AnswerCache.connect(rec_settings.redis_url, store.names.namespace, REC)
        tombstones = TombstoneCheck(rec_settings)
        try:
            trained = await train_simulated(store, game_id)
            item = trained.matrix.item_ids[0]
            buy = [("purchase", {"item_id": item, "amount": "1.99", "currency": "USD"}, 1.99)]
            batches = [processed_batch(game_id, ana, buy), processed_batch(game_id, bo, buy)]
            erase(rec_settings, game_id, ana)  # after the batches were processed, before the fold-in reads them
            records = await FoldIn(store, cache, REC, tombstones).apply(batches)
            return records, await store.players(game_id, [ana, bo])
        finally:
            await tombstones.close()
            await cache.close()
            await store.close()

    records, points = asyncio.run(run())
    assert [r["player_id"] for r in records] == [bo]
    assert set(points) == {bo}


def test_training_drops_players_erased_after_it_read_the_store(rec_settings):
    with db.connect(rec_settings, autocommit=True) as conn:
        game_id = create_game(conn, f"train-{uuid.uuid4().hex[:6]}").game_id
    now = datetime.now(timezone.utc)
    history = simulate_history(200, Tastes(items=40, groups=4, favourites=6, seed=1), days=30,
                               now_ms=int(now.timestamp() * 1000), seed=1)
    trained = fit(history_columns(history), history_segments(history), REC, game_id, now, now - timedelta(days=30))
    gone, kept = list(trained.matrix.player_ids[:2]), trained.matrix.player_ids[2]
    for player in gone:  # erased while the run was training: after it read PostgreSQL
        erase(rec_settings, game_id, player)

    async def run() -> dict:
        store = VectorStore.open(rec_settings, REC)
        try:
            await publish(store, trained, REC, erased=lambda players: erased_since_read(
                rec_settings, game_id, players, int(now.timestamp() * 1000)))
            return await store.players(game_id, [*gone, kept])
        finally:
            await store.close()

    points = asyncio.run(run())
    assert set(points) == {kept}
