"""The retention interface of store/partitions.py, the same on both backends: expired_days,
drop_day, compress_older_than; and where they differ (native's default partition)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from store import db
from store.partitions import compress_older_than, drop_day, expired_days, partition_name

pytestmark = pytest.mark.integration

OLD = date(2026, 2, 1)  # outside any native partition window: its rows sit in the default partition


def insert(conn, when: datetime, game: str = "g") -> None:
    conn.execute(
        "INSERT INTO player_events (event_id, event_time, game_id, player_id, event_type, client_ts, received_at,"
        " properties, batch_id) VALUES (%s, %s, %s, 'p', 'custom.x', %s, %s, '{}', %s)",
        (uuid.uuid4(), when, game, when, when, uuid.uuid4()),
    )


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


def counts_by_day(conn) -> dict[date, int]:
    rows = conn.execute(
        "SELECT (event_time AT TIME ZONE 'UTC')::date, count(*) FROM player_events GROUP BY 1 ORDER BY 1"
    ).fetchall()
    return dict(rows)


def test_expired_days_are_the_days_before_the_cutoff_and_drop_day_removes_exactly_one(isolated):
    days = [OLD + timedelta(days=d) for d in range(4)]
    with db.connect(isolated, autocommit=True) as conn:
        for day in days:
            for hour in (0, 12, 23):
                insert(conn, midnight(day) + timedelta(hours=hour, minutes=59))
        assert expired_days(conn, before=days[2]) == days[:2]
        dropped = drop_day(conn, days[0])
        assert dropped.day == days[0]
        assert counts_by_day(conn) == {days[1]: 3, days[2]: 3, days[3]: 3}
        assert expired_days(conn, before=days[2]) == [days[1]]
        drop_day(conn, days[1])
        assert counts_by_day(conn) == {days[2]: 3, days[3]: 3}
        assert expired_days(conn, before=days[2]) == []
        assert drop_day(conn, days[0]).relations == []  # dropping a day twice is harmless


def test_native_drops_a_day_partition_and_the_default_partitions_rows(isolated, store_backend):
    today = datetime.now(timezone.utc).date()
    yesterday = today - timedelta(days=1)
    with db.connect(isolated, autocommit=True) as conn:
        insert(conn, midnight(yesterday) + timedelta(hours=5))
        insert(conn, midnight(OLD) + timedelta(hours=5))
        insert(conn, midnight(today) + timedelta(hours=1))
        expired = expired_days(conn, before=today)
        if store_backend == "native":  # the (empty) partitions created ahead for the last days count too
            assert expired == [OLD] + [today - timedelta(days=d) for d in (3, 2, 1)]
        else:
            assert expired == [OLD, yesterday]
        old, recent = drop_day(conn, OLD), drop_day(conn, yesterday)
        assert counts_by_day(conn) == {today: 1}
    if store_backend == "native":
        assert (old.relations, old.default_rows) == ([], 1)  # OLD had no partition: its row was in the default
        assert (recent.relations, recent.default_rows) == ([partition_name(yesterday)], 0)
    else:
        assert len(old.relations) == 1 and len(recent.relations) == 1 and old.default_rows == 0


def test_compress_older_than_compresses_on_timescaledb_and_is_a_noop_on_native(isolated, store_backend):
    with db.connect(isolated, autocommit=True) as conn:
        insert(conn, midnight(OLD) + timedelta(hours=5))
        compressed = compress_older_than(conn, 7, now=midnight(OLD) + timedelta(days=30))
        assert len(compressed) == (1 if store_backend == "timescaledb" else 0)
        assert counts_by_day(conn) == {OLD: 1}
