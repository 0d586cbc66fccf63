"""Time partitions of ``player_events`` (by event_time) and ``event_keys`` (by client_ts, the
landing dedup key): TimescaleDB hypertables when the extension is installed, otherwise native
daily range partitions created ahead of time.

A default partition catches events outside the prepared days so an insert never fails; when the
day's partition is created later, its rows are moved out of the default partition in the same
transaction (PostgreSQL refuses to create a partition whose rows sit in the default one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import psycopg
from psycopg import sql


@dataclass(frozen=True)
class PartitionWindow:
    """How many daily partitions exist around today."""

    days_back: int = 3
    days_ahead: int = 7


DEFAULT_WINDOW = PartitionWindow()


def timescaledb_enabled(conn: psycopg.Connection) -> bool:
    row = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
    return row is not None


PARTITIONED = {"player_events": "event_time", "event_keys": "client_ts"}
"""The day-partitioned tables and their partition column."""


def partition_name(day: date, table: str = "player_events") -> str:
    return f"{table}_p{day:%Y%m%d}"


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    return start, start + timedelta(days=1)


def existing_partitions(conn: psycopg.Connection, table: str = "player_events") -> set[str]:
    rows = conn.execute(
        """
        SELECT c.relname FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        JOIN pg_class p ON p.oid = i.inhparent
        WHERE p.relname = %s AND p.relnamespace = current_schema()::regnamespace
        """,
        (table,),
    ).fetchall()
    return {r[0] for r in rows}


def ensure_partitions(
    conn: psycopg.Connection, today: date | None = None, window: PartitionWindow = DEFAULT_WINDOW
) -> list[str]:
    """Create the missing daily partitions of the window; returns their names. No-op on TimescaleDB."""
    if timescaledb_enabled(conn):
        return []
    today = today or datetime.now(timezone.utc).date()
    created = []
    for table, column in PARTITIONED.items():
        if _table_exists(conn, table):
            created += _ensure_table_partitions(conn, table, column, today, window)
    return created


def _table_exists(conn: psycopg.Connection, table: str) -> bool:
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()[0]


def _ensure_table_partitions(conn: psycopg.Connection, table: str, column: str, today: date,
                             window: PartitionWindow) -> list[str]:
    existing = existing_partitions(conn, table)
    created = []
    for offset in range(-window.days_back, window.days_ahead + 1):
        day = today + timedelta(days=offset)
        name = partition_name(day, table)
        if name in existing:
            continue
        lo, hi = _day_bounds(day)
        with conn.transaction():
            conn.execute(
                sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)").format(
                    sql.Identifier(name), sql.Identifier(table)
                )
            )
            conn.execute(
                sql.SQL(
                    "WITH moved AS (DELETE FROM {} WHERE {} >= %s AND {} < %s"
                    " RETURNING *) INSERT INTO {} SELECT * FROM moved"
                ).format(sql.Identifier(f"{table}_default"), sql.Identifier(column), sql.Identifier(column),
                         sql.Identifier(name)),
                (lo, hi),
            )
            conn.execute(
                sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES FROM ({}) TO ({})").format(
                    sql.Identifier(table), sql.Identifier(name), sql.Literal(lo), sql.Literal(hi)
                )
            )
        created.append(name)
    return created


def prune_event_keys(conn: psycopg.Connection, keep_days: int, today: date | None = None) -> list[str]:
    """Drop the event_keys partitions (and default-partition rows) whose client day is older than
    ``keep_days``: a client retry of such an event is no longer recognised. Returns the dropped names."""
    if timescaledb_enabled(conn):
        conn.execute("SELECT drop_chunks('event_keys', older_than => now() - make_interval(days => %s))", (keep_days,))
        return []
    today = today or datetime.now(timezone.utc).date()
    horizon = today - timedelta(days=keep_days)
    dropped = []
    for name in sorted(existing_partitions(conn, "event_keys")):
        day = datetime.strptime(name.rsplit("_p", 1)[1], "%Y%m%d").date() if "_p" in name else None
        if day is not None and day < horizon:
            conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))
            dropped.append(name)
    conn.execute("DELETE FROM event_keys_default WHERE client_ts < %s", (_day_bounds(horizon)[0],))
    return dropped

# --- what retention needs of the day layout (native partitions). The retention pass reaches these
# through retention.days.DayStore; on TimescaleDB the same interface is served by chunk functions.

def partition_day(name: str) -> date | None:
    """The day of a daily partition's name, None for any other table (the default partition)."""
    prefix = "player_events_p"
    if not name.startswith(prefix) or len(name) != len(prefix) + 8:
        return None
    try:
        return datetime.strptime(name[len(prefix):], "%Y%m%d").date()
    except ValueError:
        return None


def daily_partitions(conn: psycopg.Connection) -> dict[date, str]:
    """Every attached daily partition by day."""
    days = {}
    for name in existing_partitions(conn):
        day = partition_day(name)
        if day is not None:
            days[day] = name
    return days


def days_in_default(conn: psycopg.Connection, before: date) -> set[date]:
    """Days before ``before`` that have rows in the default partition (late events, restores)."""
    lo, _ = _day_bounds(before)
    rows = conn.execute(
        "SELECT DISTINCT (event_time AT TIME ZONE 'UTC')::date FROM player_events_default WHERE event_time < %s", (lo,)
    ).fetchall()
    return {r[0] for r in rows}


def day_range(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a UTC day, as bounds of event_time."""
    return _day_bounds(day)


def games_of_day(conn: psycopg.Connection, day: date) -> list[str]:
    """The games with events on ``day`` (a loose index scan on (game_id, event_time): one probe per game)."""
    lo, hi = _day_bounds(day)
    rows = conn.execute(
        """
        WITH RECURSIVE g(game_id) AS (
            (SELECT game_id FROM player_events WHERE event_time >= %(lo)s AND event_time < %(hi)s
             ORDER BY game_id LIMIT 1)
            UNION ALL
            SELECT (SELECT e.game_id FROM player_events e WHERE e.game_id > g.game_id
                    AND e.event_time >= %(lo)s AND e.event_time < %(hi)s ORDER BY e.game_id LIMIT 1)
            FROM g WHERE g.game_id IS NOT NULL
        )
        SELECT game_id FROM g WHERE game_id IS NOT NULL
        """,
        {"lo": lo, "hi": hi},
    ).fetchall()
    return [r[0] for r in rows]


def detach_day(conn: psycopg.Connection, day: date) -> str | None:
    """Detach the day's partition inside the caller's transaction (new rows of that day then go to the
    default partition); returns the detached table's name, None when the day has no partition."""
    name = partition_name(day)
    if name not in existing_partitions(conn):
        return None
    conn.execute(sql.SQL("ALTER TABLE player_events DETACH PARTITION {}").format(sql.Identifier(name)))
    return name


def drop_detached(conn: psycopg.Connection, name: str) -> None:
    conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))
