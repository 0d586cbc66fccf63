"""processors/land.py on the real PostgreSQL: the fast landing statement, and its fallback when a
row it was promised is new turns out to be stored already."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from gamemetrics import metric_defs as m
from store import db
from store.partitions import ensure_partitions
from store.verify import rollup_differences
from processors.enrich import State, enrich_batch
from processors.postgres_sink import PostgresSink

pytestmark = pytest.mark.integration

NOW = int(time.time() * 1000)


def enriched(player: str, n: int, ids: list[str] | None = None):
    ids = ids or [str(uuid.uuid4()) for _ in range(n)]
    events = [
        {"event_id": i, "event_type": "session_start" if k == 0 else "achievement", "player_id": player,
         "ts": NOW + k, "event_time": NOW + k, "session_id": f"s-{player}", "platform": "ios", "app_version": "1.0",
         "country": "DE", "properties": {} if k == 0 else {"achievement_id": f"a{k}"}}
        for k, i in enumerate(ids)
    ]
    batch = {"batch_id": str(uuid.uuid4()), "game_id": "g1", "player_id": player, "received_at": NOW + 500,
             "sent_at": None, "client_ip_hash": None, "events": events}
    return enrich_batch(batch, events, State(), {"USD": 1.0})


async def land(settings, items) -> set[str]:
    sink = PostgresSink(settings)
    try:
        async with sink.transaction() as tx:
            return await tx.land(items)
    finally:
        await sink.close()


def test_new_rows_take_the_fast_path_and_a_conflict_falls_back_to_skipping_stored_rows(isolated):
    with db.connect(isolated, autocommit=True) as conn:
        ensure_partitions(conn)
    first = enriched("ana", 5)
    fallbacks = m.LANDING_CONFLICT_FALLBACKS._value.get()
    assert asyncio.run(land(isolated, first)) == {i.event["event_id"] for i in first}
    assert m.LANDING_CONFLICT_FALLBACKS._value.get() == fallbacks
    # the same five ids (as if another player's batch had raced them in) plus three new ones
    again = enriched("ana", 8, [i.event["event_id"] for i in first] + [str(uuid.uuid4()) for _ in range(3)])
    fresh = asyncio.run(land(isolated, again))
    assert fresh == {i.event["event_id"] for i in again[5:]}
    assert m.LANDING_CONFLICT_FALLBACKS._value.get() == fallbacks + 1
    with db.connect(isolated) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT event_id) FROM player_events").fetchone() == (8, 8)
        assert rollup_differences(conn) == {}  # the rolled-back fast statement left no rollup behind
