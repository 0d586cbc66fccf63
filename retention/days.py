"""What the retention pass needs of the store's day layout, behind one small interface.

``NativeDays`` serves it on native daily partitions (store/partitions.py), ``TimescaleDays`` on a
hypertable's daily chunks (store/timescale.py: detach decompresses first; compression with
``compress_chunk`` driven by the pass itself, not TimescaleDB's background scheduler). The pass
never touches a partition or chunk by name outside this module.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol

import psycopg

from store import partitions, timescale


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
        return partitions.expired_days(conn, before)

    def games_of_day(self, conn: psycopg.Connection, day: date) -> list[str]:
        return partitions.games_of_day(conn, day)

    def detach_day(self, conn: psycopg.Connection, day: date) -> str | None:
        return partitions.detach_day(conn, day)

    def drop_detached(self, conn: psycopg.Connection, handle: str) -> None:
        partitions.drop_detached(conn, handle)

    def compress_older_than(self, conn: psycopg.Connection, days: int) -> int:
        return 0  # native partitions are not compressed (TOAST compresses the jsonb already)


class TimescaleDays(NativeDays):
    """The same on a hypertable's daily chunks; games_of_day and days_before work on both layouts."""

    def detach_day(self, conn: psycopg.Connection, day: date) -> str | None:
        return timescale.detach_day(conn, day)

    def drop_detached(self, conn: psycopg.Connection, handle: str) -> None:
        timescale.drop_detached(conn, handle)

    def compress_older_than(self, conn: psycopg.Connection, days: int) -> int:
        return len(partitions.compress_older_than(conn, days))


def day_store(conn: psycopg.Connection) -> DayStore:
    """The day store of this schema's ``player_events``: chunks of a hypertable, or native partitions."""
    return TimescaleDays() if partitions.timescaledb_enabled(conn) else NativeDays()
