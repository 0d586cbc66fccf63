"""What the retention pass needs of the store's day layout, behind one small interface.

``NativeDays`` serves it on native daily partitions (store/partitions.py). On TimescaleDB the
same operations (plus compression) are the chunk functions of the timescale work (expired chunks, drop_chunks,
compression); the lead points ``day_store()`` at them at merge time. The pass never touches a
partition or chunk by name outside this module.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol

import psycopg

from store import partitions


class DayStore(Protocol):
    def days_before(self, conn: psycopg.Connection, before: date) -> list[date]:
        """Days before ``before`` that still have rows in PostgreSQL, oldest first."""

    def games_of_day(self, conn: psycopg.Connection, day: date) -> list[str]: ...

    def detach_day(self, conn: psycopg.Connection, day: date) -> str | None:
        """Take the whole day out of the table inside the caller's transaction (rolled back with it);
        returns a handle of the detached rows to verify then drop, None if the day has no partition."""

    def drop_detached(self, conn: psycopg.Connection, handle: str) -> None: ...

    def compress_older_than(self, conn: psycopg.Connection, days: int) -> int:
        """Compress the days older than ``days`` (TimescaleDB chunks); returns how many were compressed."""


class NativeDays:
    def days_before(self, conn: psycopg.Connection, before: date) -> list[date]:
        days = {d for d in partitions.daily_partitions(conn) if d < before}
        days |= partitions.days_in_default(conn, before)
        return sorted(days)

    def games_of_day(self, conn: psycopg.Connection, day: date) -> list[str]:
        return partitions.games_of_day(conn, day)

    def detach_day(self, conn: psycopg.Connection, day: date) -> str | None:
        return partitions.detach_day(conn, day)

    def drop_detached(self, conn: psycopg.Connection, handle: str) -> None:
        partitions.drop_detached(conn, handle)

    def compress_older_than(self, conn: psycopg.Connection, days: int) -> int:
        return 0  # native partitions are not compressed (TOAST compresses the jsonb already)


def day_store(conn: psycopg.Connection) -> DayStore:
    """The day store of this database. TimescaleDB: the timescale engineer's chunk functions (merge point)."""
    if partitions.timescaledb_enabled(conn):
        raise NotImplementedError("retention on a TimescaleDB hypertable comes with the chunk functions (merge point)")
    return NativeDays()
