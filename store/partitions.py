"""Time partitions of ``player_events``, one UTC day each, on either backend (:mod:`store.backend`):
native daily range partitions created ahead of time, or the daily chunks of a TimescaleDB
hypertable (created by TimescaleDB on insert).

Native: a default partition catches events outside the prepared days so an insert never fails;
when the day's partition is created later, its rows are moved out of the default partition in the
same transaction (PostgreSQL refuses to create a partition whose rows sit in the default one).

The retention pass calls one interface on both backends:

- :func:`expired_days` (conn, before): the UTC days wholly before ``before`` that hold data;
- :func:`drop_day` (conn, day): drop that day (``DROP TABLE`` of its partition and its rows in the
  default partition; ``drop_chunks`` on TimescaleDB);
- :func:`compress_older_than` (conn, days): compress the days older than ``days`` days
  (``compress_chunk`` on TimescaleDB; nothing to do on native partitions).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import psycopg
from psycopg import sql

from store import timescale
from store.backend import table_backend


@dataclass(frozen=True)
class PartitionWindow:
    """How many daily partitions exist around today."""

    days_back: int = 3
    days_ahead: int = 7


DEFAULT_WINDOW = PartitionWindow()


def timescaledb_enabled(conn: psycopg.Connection) -> bool:
    """True when this schema's ``player_events`` is a TimescaleDB hypertable."""
    return table_backend(conn) == "timescaledb"


def partition_name(day: date) -> str:
    return f"player_events_p{day:%Y%m%d}"


def day_of_partition(name: str) -> date | None:
    if not name.startswith("player_events_p"):
        return None
    return datetime.strptime(name.removeprefix("player_events_p"), "%Y%m%d").date()


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    return start, start + timedelta(days=1)


def existing_partitions(conn: psycopg.Connection) -> set[str]:
    rows = conn.execute(
        """
        SELECT c.relname FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        JOIN pg_class p ON p.oid = i.inhparent
        WHERE p.relname = 'player_events' AND p.relnamespace = current_schema()::regnamespace
        """
    ).fetchall()
    return {r[0] for r in rows}


def ensure_partitions(
    conn: psycopg.Connection, today: date | None = None, window: PartitionWindow = DEFAULT_WINDOW
) -> list[str]:
    """Create the missing daily partitions of the window; returns their names. No-op on TimescaleDB."""
    if timescaledb_enabled(conn):
        return []
    today = today or datetime.now(timezone.utc).date()
    existing = existing_partitions(conn)
    created = []
    for offset in range(-window.days_back, window.days_ahead + 1):
        day = today + timedelta(days=offset)
        name = partition_name(day)
        if name in existing:
            continue
        lo, hi = _day_bounds(day)
        with conn.transaction():
            conn.execute(
                sql.SQL("CREATE TABLE {} (LIKE player_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)").format(
                    sql.Identifier(name)
                )
            )
            conn.execute(
                sql.SQL(
                    "WITH moved AS (DELETE FROM player_events_default WHERE event_time >= %s AND event_time < %s"
                    " RETURNING *) INSERT INTO {} SELECT * FROM moved"
                ).format(sql.Identifier(name)),
                (lo, hi),
            )
            conn.execute(
                sql.SQL("ALTER TABLE player_events ATTACH PARTITION {} FOR VALUES FROM ({}) TO ({})").format(
                    sql.Identifier(name), sql.Literal(lo), sql.Literal(hi)
                )
            )
        created.append(name)
    return created


def _midnight(day: date) -> datetime:
    return _day_bounds(day)[0]


def expired_days(conn: psycopg.Connection, before: date) -> list[date]:
    """The UTC days before ``before`` (exclusive) that hold a partition, a chunk or default-partition
    rows, oldest first: what :func:`drop_day` can drop when ``before`` is the retention cut-off."""
    if timescaledb_enabled(conn):
        return sorted({c.range_start.astimezone(timezone.utc).date() for c in timescale.chunks(conn, _midnight(before))})
    days = {d for d in map(day_of_partition, existing_partitions(conn)) if d is not None and d < before}
    rows = conn.execute(
        "SELECT DISTINCT (event_time AT TIME ZONE 'UTC')::date FROM player_events_default WHERE event_time < %s",
        (_midnight(before),),
    ).fetchall()
    return sorted(days | {r[0] for r in rows})


@dataclass(frozen=True)
class DroppedDay:
    day: date
    relations: list[str]  # partitions or chunks dropped
    default_rows: int = 0  # rows of that day deleted from the native default partition


def drop_day(conn: psycopg.Connection, day: date) -> DroppedDay:
    """Drop every event of the UTC ``day``. Native: ``DROP TABLE`` of its partition (briefly an
    ACCESS EXCLUSIVE lock on ``player_events``: landing waits for it) and a DELETE of its rows in
    the default partition; TimescaleDB: ``drop_chunks`` of its chunk. Runs in one transaction."""
    lo, hi = _day_bounds(day)
    with conn.transaction():
        if timescaledb_enabled(conn):
            return DroppedDay(day, timescale.drop_chunks_between(conn, lo, hi))
        name = partition_name(day)
        dropped = []
        if name in existing_partitions(conn):
            conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))
            dropped.append(name)
        deleted = conn.execute(
            "DELETE FROM player_events_default WHERE event_time >= %s AND event_time < %s", (lo, hi)
        ).rowcount
        return DroppedDay(day, dropped, deleted)


def compress_older_than(conn: psycopg.Connection, days: int, now: datetime | None = None) -> list[str]:
    """Compress the chunks of the UTC days that ended more than ``days`` days before ``now``
    (recompressing those late events were written into); returns them. A no-op (``[]``) on native
    partitions, which PostgreSQL cannot compress."""
    if not timescaledb_enabled(conn):
        return []
    now = now or datetime.now(timezone.utc)
    return timescale.compress_chunks_before(conn, now - timedelta(days=days))
