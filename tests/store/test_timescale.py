"""The TimescaleDB hypertable of migration 0001, in every schema: the extension stays where it was
created (``public``) and is called schema-qualified, daily chunks on UTC midnight, compression by
game in event-time order, and what is only TimescaleDB's: writing into a compressed chunk."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from store import db, timescale
from store.backend import probe, table_backend
from store.migrate import drop_schema, upgrade
from store.partitions import compress_older_than

pytestmark = pytest.mark.integration

DAY = datetime(2026, 3, 10, tzinfo=timezone.utc)


@pytest.fixture
def hypertable(isolated, store_backend):
    if store_backend != "timescaledb":
        pytest.skip("TimescaleDB only: native partitions have no chunks to compress")
    return isolated


def insert(conn, when: datetime, game: str = "g", event_id: uuid.UUID | None = None) -> int:
    return conn.execute(
        "INSERT INTO player_events (event_id, event_time, game_id, player_id, event_type, client_ts, received_at,"
        " properties, batch_id) VALUES (%s, %s, %s, 'p', 'custom.x', %s, %s, '{}', %s)",
        (event_id or uuid.uuid4(), when, game, when, when, uuid.uuid4()),
    ).rowcount


def test_every_schema_gets_a_hypertable_with_the_extension_left_in_public(hypertable):
    # the bug of issue 12: the second schema's create_hypertable(...) did not exist
    second = hypertable.model_copy(update={"database_schema": f"{hypertable.database_schema}_b"})
    assert upgrade(second, backend="timescaledb") == "timescaledb"
    try:
        for settings in (hypertable, second):
            with db.connect(settings) as conn:
                assert table_backend(conn) == "timescaledb"
                assert probe(conn).installed_schema == "public"
                assert conn.execute(
                    "SELECT count(*) FROM pg_proc WHERE proname = 'create_hypertable'"
                    " AND pronamespace = current_schema()::regnamespace"
                ).fetchone()[0] == 0
    finally:
        drop_schema(second)


def test_chunks_are_utc_days_and_compress_by_game_in_event_time_order(hypertable):
    with db.connect(hypertable, autocommit=True) as conn:
        insert(conn, DAY + timedelta(hours=23, minutes=59))
        insert(conn, DAY + timedelta(days=1))
        found = timescale.chunks(conn)
        assert [(c.range_start, c.range_end) for c in found] == [
            (DAY, DAY + timedelta(days=1)), (DAY + timedelta(days=1), DAY + timedelta(days=2))
        ]
        settings = conn.execute(
            "SELECT attname, segmentby_column_index, orderby_column_index, orderby_asc"
            " FROM timescaledb_information.compression_settings"
            " WHERE hypertable_schema = current_schema() AND hypertable_name = 'player_events' ORDER BY attname"
        ).fetchall()
        assert settings == [("event_id", None, 2, True), ("event_time", None, 1, False), ("game_id", 1, None, None)]


def test_compression_keeps_every_row_and_answers_the_same(hypertable):
    query = ("SELECT game_id, count(*), min(event_time), max(event_time) FROM player_events"
             " WHERE event_time >= %s AND event_time < %s GROUP BY game_id ORDER BY game_id")
    with db.connect(hypertable, autocommit=True) as conn:
        for minute in range(0, 24 * 60, 7):
            insert(conn, DAY + timedelta(minutes=minute), game=f"g{minute % 3}")
        before = conn.execute(query, (DAY, DAY + timedelta(days=1))).fetchall()
        assert compress_older_than(conn, 2, now=DAY + timedelta(days=3)) == [c.name for c in timescale.chunks(conn)]
        assert all(c.compressed for c in timescale.chunks(conn))
        assert conn.execute(query, (DAY, DAY + timedelta(days=1))).fetchall() == before
        assert compress_older_than(conn, 2, now=DAY + timedelta(days=3)) == []  # nothing left to do
        stats = timescale.compression_stats(conn)
        assert stats.compressed_chunks == 1 and stats.bytes_after > 0


def test_only_days_older_than_the_cutoff_are_compressed(hypertable):
    with db.connect(hypertable, autocommit=True) as conn:
        for offset in range(4):
            insert(conn, DAY + timedelta(days=offset, hours=12))
        # now = DAY+4d 06:00, 2 days: the days ending by DAY+2d 06:00, i.e. DAY and DAY+1d
        compressed = compress_older_than(conn, 2, now=DAY + timedelta(days=4, hours=6))
        by_start = {c.range_start: c for c in timescale.chunks(conn)}
        assert compressed == [by_start[DAY].name, by_start[DAY + timedelta(days=1)].name]
        assert [by_start[DAY + timedelta(days=d)].compressed for d in range(4)] == [True, True, False, False]


def test_a_late_event_lands_in_a_compressed_chunk(hypertable):
    # no unique key to check against the compressed rows (migration 0006): a replayed copy is kept out
    # by landing (event_keys, or the rows themselves past the keys' horizon: the landing test below)
    with db.connect(hypertable, autocommit=True) as conn:
        insert(conn, DAY + timedelta(hours=1))
        insert(conn, DAY + timedelta(hours=2))
        compress_older_than(conn, 1, now=DAY + timedelta(days=5))
        assert insert(conn, DAY + timedelta(hours=3)) == 1  # a late event of that day
        [chunk] = timescale.chunks(conn)
        assert chunk.partial and not chunk.compressed
        assert conn.execute("SELECT count(*), count(DISTINCT event_id) FROM player_events").fetchone() == (3, 3)
        # the next pass compresses the late rows in too
        assert compress_older_than(conn, 1, now=DAY + timedelta(days=5)) == [chunk.name]
        [chunk] = timescale.chunks(conn)
        assert chunk.compressed and not chunk.partial
        assert conn.execute("SELECT count(*) FROM player_events").fetchone()[0] == 3


def test_a_day_is_detached_even_compressed_then_dropped_and_a_rollback_keeps_it(hypertable):
    with db.connect(hypertable, autocommit=True) as conn:
        for day in range(3):
            for hour in (1, 2):
                insert(conn, DAY + timedelta(days=day, hours=hour))
        compress_older_than(conn, 1, now=DAY + timedelta(days=2, hours=1))  # the first day only
        first, second = timescale.chunks(conn)[:2]
        assert first.compressed and not second.compressed
        with pytest.raises(RuntimeError), conn.transaction():
            assert timescale.detach_day(conn, DAY.date()) == first.name
            raise RuntimeError("the archive failed")
        assert conn.execute("SELECT count(*) FROM player_events").fetchone()[0] == 6
        with conn.transaction():
            detached = timescale.detach_day(conn, DAY.date())
            assert conn.execute(f"SELECT count(*) FROM {detached}").fetchone()[0] == 2  # decompressed first
            assert conn.execute("SELECT count(*) FROM player_events").fetchone()[0] == 4
            timescale.drop_detached(conn, detached)
        assert timescale.detach_day(conn, DAY.date()) is None
        assert conn.execute("SELECT to_regclass(%s)", (detached,)).fetchone()[0] is None


def test_landing_a_replay_and_late_events_into_a_compressed_day_adds_only_the_new_ones(hypertable):
    import asyncio

    from store.verify import rollup_differences
    from tests.processors.backends import DAY_MS, NOW, RealBackend, event, messages
    from tests.services import free_port

    three_days_ago = NOW - 3 * DAY_MS
    first = [event("achievement", at=three_days_ago + k, achievement_id=f"a{k}") for k in range(5)]
    late = [event("achievement", at=three_days_ago + 100 + k, achievement_id=f"b{k}") for k in range(3)]
    backend = RealBackend(hypertable, dead_port=free_port())
    try:
        assert asyncio.run(backend.steps.run(messages(first))).landed == 5
        with db.connect(hypertable, autocommit=True) as conn:
            assert len(compress_older_than(conn, 1)) == 1
        # the replayed copies of the compressed events, and three late events of that day
        outcome = asyncio.run(backend.steps.run(messages(first + late, first_offset=1)))
        assert (outcome.landed, outcome.duplicates) == (3, 5)
    finally:
        asyncio.run(backend.close())
    with db.connect(hypertable) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT event_id) FROM player_events").fetchone() == (8, 8)
        assert rollup_differences(conn) == {}
        [chunk] = timescale.chunks(conn)
        assert chunk.partial


def test_migration_0006_drops_and_its_downgrade_restores_the_key_over_compressed_chunks(hypertable):
    from alembic import command

    from tests.store.test_migrations import _alembic, unique_indexes

    _alembic(hypertable, command.downgrade, "0005")
    with db.connect(hypertable, autocommit=True) as conn:
        assert unique_indexes(conn) == ["player_events_pkey"]
        for hour in range(3):
            insert(conn, DAY + timedelta(hours=hour))
        assert len(compress_older_than(conn, 1, now=DAY + timedelta(days=5))) == 1
    _alembic(hypertable, command.upgrade, "head")
    with db.connect(hypertable, autocommit=True) as conn:
        assert unique_indexes(conn) == []
        [chunk] = timescale.chunks(conn)
        assert chunk.compressed  # dropped on the hypertable and its chunks without decompressing
        assert insert(conn, DAY + timedelta(hours=4)) == 1
    _alembic(hypertable, command.downgrade, "0005")
    with db.connect(hypertable, autocommit=True) as conn:
        assert unique_indexes(conn) == ["player_events_pkey"]
        assert conn.execute("SELECT count(*) FROM player_events").fetchone()[0] == 4
    _alembic(hypertable, command.upgrade, "head")
