"""processors/postgres_sink.py on the real PostgreSQL: the optimistic key COPY and its probe path when a
replay, a client retry or a concurrent claim is in the group, the rows as COPYed, and driver errors
leaving translated."""

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


async def claim_and_land(settings, items) -> tuple[set[str], set[str]]:
    """One transaction: claim the keys of ``items``, land those not stored; (stored ids, landed ids)."""
    sink = PostgresSink(settings)
    try:
        async with sink.transaction() as tx:
            stored = await tx.claim_keys([i.event for i in items], [i.game_id for i in items])
            return stored, await tx.land([i for i in items if i.event["event_id"] not in stored])
    finally:
        await sink.close()


def test_new_keys_are_copied_and_a_replay_in_the_group_falls_back_to_the_probe(isolated):
    with db.connect(isolated, autocommit=True) as conn:
        ensure_partitions(conn)
    first = enriched("ana", 5)
    fallbacks = fallback_count()
    assert asyncio.run(claim_and_land(isolated, first)) == (set(), {i.event["event_id"] for i in first})
    assert fallback_count() == fallbacks  # all new: the key COPY went through
    # the same five ids (a Kafka replay or a client retry) plus three new ones
    again = enriched("ana", 8, [i.event["event_id"] for i in first] + [str(uuid.uuid4()) for _ in range(3)])
    stored, landed = asyncio.run(claim_and_land(isolated, again))
    assert stored == {i.event["event_id"] for i in first}
    assert landed == {i.event["event_id"] for i in again[5:]}
    assert fallback_count() == fallbacks + 1
    with db.connect(isolated) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT event_id) FROM player_events").fetchone() == (8, 8)
        assert conn.execute("SELECT count(*) FROM event_keys").fetchone()[0] == 8
        assert rollup_differences(conn) == {}  # the rolled-back COPY left no key behind


def test_a_client_retry_whose_event_time_moved_is_found_by_its_key(isolated):
    first = enriched("ana", 2)
    asyncio.run(claim_and_land(isolated, first))
    # the same ids, the same client ts, event times three days later (another sent_at), one new id
    moved = enriched("ana", 3, [i.event["event_id"] for i in first] + [str(uuid.uuid4())])
    for item in moved:
        item.event["event_time"] += 3 * 86_400_000
    stored, landed = asyncio.run(claim_and_land(isolated, moved))
    assert (stored, landed) == ({i.event["event_id"] for i in first}, {moved[2].event["event_id"]})
    with db.connect(isolated) as conn:
        assert conn.execute("SELECT count(*) FROM player_events").fetchone()[0] == 3
        assert rollup_differences(conn) == {}


def test_two_transactions_claiming_one_key_at_once_land_it_once(isolated):
    # the same event id and client ts in the groups of two players (who hold different locks): the
    # second COPY waits on the first's uncommitted key, then takes the probe path and skips it
    shared = enriched("ana", 2)
    theirs = enriched("bob", 3, [shared[0].event["event_id"], shared[1].event["event_id"], str(uuid.uuid4())])
    for mine, other in zip(shared, theirs):
        other.event["ts"] = mine.event["ts"]

    async def scenario():
        first = PostgresSink(isolated)
        try:
            async with first.transaction() as tx:
                assert await tx.claim_keys([i.event for i in shared], ["g1"] * 2) == set()
                await tx.land(shared)
                waiting = asyncio.create_task(claim_and_land(isolated, theirs))
                await asyncio.sleep(0.5)
                assert not waiting.done()  # blocked on the uncommitted keys
            return await waiting
        finally:
            await first.close()

    stored, landed = asyncio.run(scenario())
    assert stored == {shared[0].event["event_id"], shared[1].event["event_id"]}
    assert landed == {theirs[2].event["event_id"]}
    with db.connect(isolated) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT event_id) FROM player_events").fetchone() == (3, 3)
        assert rollup_differences(conn) == {}


def test_copied_rows_read_back_exactly(isolated):
    # every column type of the binary COPY (processors/copy_rows.py): uuid, times, text with UTF-8,
    # NULLs, jsonb, int4, bool, numeric (negative, sub-cent, large), int8
    items = enriched("ünï", 4)
    items[1].event.update(session_id=None, platform=None, country=None,
                          properties={"k": "välue", "n": [1, 2.5, None], "t": True})
    items[1].session_seq = None
    items[1].platform = items[1].app_version = None
    for item, revenue in zip(items, (None, 0.000001, -3.5, 123456789.123456)):
        item.revenue_usd = revenue
    items[2].is_new_player = True
    asyncio.run(claim_and_land(isolated, items))
    with db.connect(isolated) as conn:
        rows = {r[0]: r[1:] for r in conn.execute(
            "SELECT event_id::text, (extract(epoch FROM event_time) * 1000)::int8, game_id, player_id, event_type, "
            "(extract(epoch FROM client_ts) * 1000)::int8, (extract(epoch FROM received_at) * 1000)::int8, "
            "session_id, platform, app_version, country, properties, batch_id::text, session_seq, is_new_player, "
            "revenue_usd::text, delay_ms FROM player_events").fetchall()}
        keys = conn.execute("SELECT event_id::text, (extract(epoch FROM client_ts) * 1000)::int8 FROM event_keys").fetchall()
    assert sorted(keys) == sorted((i.event["event_id"], i.event["ts"]) for i in items)
    revenue_text = {None: None, 0.000001: "0.000001", -3.5: "-3.500000", 123456789.123456: "123456789.123456"}
    for item in items:
        e = item.event
        assert rows[e["event_id"]] == (
            e["event_time"], item.game_id, e["player_id"], e["event_type"], e["ts"], item.received_at,
            e["session_id"], item.platform, item.app_version, e["country"], e["properties"], item.batch_id,
            item.session_seq, item.is_new_player, revenue_text[item.revenue_usd], item.delay_ms,
        )


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


def test_random_groups_of_new_events_replays_and_retries_land_each_event_once(isolated):
    # the optimistic key COPY and its probe path under a mix: fresh events, Kafka replays of earlier
    # messages, client retries (same id and ts, event time moved by another sent_at), across players
    # and several transactions; every rollup must equal the GROUP BY over the rows afterwards
    import random

    from tests.processors.backends import DAY_MS, RealBackend, event, messages, retried
    from tests.services import free_port

    rng = random.Random(20)
    backend = RealBackend(isolated, dead_port=free_port())
    sent: list[list[dict]] = []
    fallbacks = fallback_count()
    try:
        for round_ in range(6):
            batches = []
            for _ in range(rng.randint(1, 4)):
                player = f"p{rng.randint(1, 5)}"
                kind = rng.random()
                if sent and kind < 0.3:
                    batches.append(rng.choice(sent))  # a replay of a whole message
                elif sent and kind < 0.5:
                    old = rng.choice(sent)  # a client retry of some events, plus new ones
                    batches.append([retried(e, rng.choice((0, DAY_MS, 3 * DAY_MS))) for e in old[:2]]
                                   + [event("achievement", player=old[0]["player_id"], achievement_id=f"r{round_}")])
                else:
                    batches.append([event(rng.choice(("session_start", "purchase", "match_result", "session_end")),
                                          player=player, at=NOW - rng.randint(0, 5_000_000), item_id="sword",
                                          amount=1.99, currency="USD", mode=rng.choice(("duel", "ranked")),
                                          outcome="win", duration_s=rng.randint(1, 600))
                                    for _ in range(rng.randint(1, 6))])
            sent += batches
            outcome = asyncio.run(backend.steps.run(messages(*batches, first_offset=round_ * 10)))
            assert outcome.dead_letters == {}
    finally:
        asyncio.run(backend.close())
    distinct = {e["event_id"] for batch in sent for e in batch}
    assert fallback_count() > fallbacks  # the mix took the probe path too
    with db.connect(isolated) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT event_id) FROM player_events").fetchone() == (
            len(distinct), len(distinct))
        assert conn.execute("SELECT count(*) FROM event_keys").fetchone()[0] == len(distinct)
        assert rollup_differences(conn) == {}
