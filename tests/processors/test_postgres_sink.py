"""processors/postgres_sink.py on the real PostgreSQL: the fast landing statement, its fallback when
a row it was promised is new turns out to be stored already, and driver errors leaving translated."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from prometheus_client import REGISTRY

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


def fallback_count() -> float:
    return REGISTRY.get_sample_value("gamemetrics_landing_conflict_fallbacks_total") or 0.0


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
    fallbacks = fallback_count()
    assert asyncio.run(land(isolated, first)) == {i.event["event_id"] for i in first}
    assert fallback_count() == fallbacks
    # the same five ids (as if another player's batch had raced them in) plus three new ones
    again = enriched("ana", 8, [i.event["event_id"] for i in first] + [str(uuid.uuid4()) for _ in range(3)])
    fresh = asyncio.run(land(isolated, again))
    assert fresh == {i.event["event_id"] for i in again[5:]}
    assert fallback_count() == fallbacks + 1
    with db.connect(isolated) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT event_id) FROM player_events").fetchone() == (8, 8)
        assert rollup_differences(conn) == {}  # the rolled-back fast statement left no rollup behind


def test_a_fallback_also_skips_a_client_retry_whose_event_time_moved(isolated):
    first = enriched("ana", 2)
    assert asyncio.run(land(isolated, first)) == {i.event["event_id"] for i in first}
    # the same ids, the same client ts, event times three days later (another sent_at), one new id:
    # as if the probe had missed them; the keys' primary key turns it into the safe path, which skips them
    moved = enriched("ana", 3, [i.event["event_id"] for i in first] + [str(uuid.uuid4())])
    for item in moved:
        item.event["event_time"] += 3 * 86_400_000
    assert asyncio.run(land(isolated, moved)) == {moved[2].event["event_id"]}
    with db.connect(isolated) as conn:
        assert conn.execute("SELECT count(*) FROM player_events").fetchone()[0] == 3
        assert rollup_differences(conn) == {}


def test_a_postgres_restart_while_idle_is_retried_never_a_processing_error(isolated, tmp_path, own_postgres_settings):
    """Issue 11 defect 4: the currency refresh ran outside the retried transaction, so the connection a
    restart had killed surfaced there as a bug and the message went to the DLQ as processing_error."""
    from gamemetrics.retry import RetryPolicy
    from processors.landing import LandingSteps
    from processors.memory import InMemoryPublisher
    from processors.resilience import DeadLetterLimit, FailurePolicy
    from schemas.ids import CatalogIds
    from tests.processors.backends import event, messages

    pg, settings = own_postgres_settings

    async def scenario():
        sink = PostgresSink(settings, rates_refresh_s=0.001)  # re-read the currencies on every group
        publisher = InMemoryPublisher()
        policy = FailurePolicy(LandingSteps(CatalogIds(), sink, publisher), RetryPolicy(1000, 0.05, 0.5),
                               DeadLetterLimit(0.5, 10))
        try:
            before = await policy.land(messages([event()]))
            await asyncio.to_thread(pg.stop)
            await asyncio.to_thread(pg.start)  # the worker was idle: its connection is dead now
            await asyncio.to_thread(pg.wait_ready, pg.url)
            after = await policy.land(messages([event(), event(player="p2")], first_offset=1))
            return before, after, publisher.dead_letter_records
        finally:
            await sink.close()

    before, after, dead = asyncio.run(scenario())
    assert (before.landed, after.landed) == (1, 2)
    assert after.dead_letters == {} and dead == []
    with db.connect(settings) as conn:
        assert conn.execute("SELECT count(*) FROM player_events").fetchone()[0] == 3


def test_a_replay_whose_key_was_pruned_is_found_among_the_rows(isolated):
    from store.partitions import prune_event_keys
    from tests.processors.backends import DAY_MS, RealBackend, event, messages
    from tests.services import free_port

    # a device clock 40 days behind: the event is recent, its key's client day is past the 35 days
    # event_keys keeps; with no unique key on player_events, the replay must be found by its row
    behind = NOW - 40 * DAY_MS
    first = [event("achievement", at=behind + k, skew_ms=40 * DAY_MS, achievement_id=f"a{k}") for k in range(3)]
    new = [event("achievement", at=behind + 10, skew_ms=40 * DAY_MS, achievement_id="b")]
    backend = RealBackend(isolated, dead_port=free_port())
    try:
        assert asyncio.run(backend.steps.run(messages(first))).landed == 3
        with db.connect(isolated, autocommit=True) as conn:
            prune_event_keys(conn, 35)
            assert conn.execute("SELECT count(*) FROM event_keys").fetchone()[0] == 0
        outcome = asyncio.run(backend.steps.run(messages(first + new, first_offset=1)))  # the Kafka replay, and one more
        assert (outcome.landed, outcome.duplicates) == (1, 3)
    finally:
        asyncio.run(backend.close())
    with db.connect(isolated) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT event_id) FROM player_events").fetchone() == (4, 4)
        assert rollup_differences(conn) == {}
