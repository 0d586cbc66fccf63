"""One async PostgreSQL connection per agent, reopened and waited for while the database is down.

A notification cannot be checked for idempotency nor recorded without the database, so the
agents wait for it (``UNTIL_BACK``) instead of skipping work; their offsets are not acked meanwhile.
Any other database error (a missing table: migrations not run) is translated to ``StoreError``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import psycopg
import structlog

from store.errors import StoreError
from gamemetrics.settings import Settings
from store import db
from gamemetrics.retry import UNTIL_BACK, RetryPolicy

log = structlog.get_logger("processors.notifications.store")

T = TypeVar("T")


class AsyncStore:
    """Runs operations on one autocommit connection, reconnecting while PostgreSQL is unreachable."""

    def __init__(self, settings: Settings, policy: RetryPolicy = UNTIL_BACK) -> None:
        self._settings = settings
        self._policy = policy
        self._conn: psycopg.AsyncConnection | None = None

    async def _connection(self) -> psycopg.AsyncConnection:
        if self._conn is None or self._conn.closed:
            self._conn = await db.connect_async(self._settings, autocommit=True)
        return self._conn

    async def run(self, what: str, operation: Callable[[psycopg.AsyncConnection], Awaitable[T]]) -> T:
        """``operation`` on the connection; retried while the database is unreachable."""
        for attempt in range(1, self._policy.max_attempts + 1):
            try:
                return await operation(await self._connection())
            except (psycopg.OperationalError, StoreError) as exc:
                await self.close()
                delay = self._policy.delay_after(attempt)
                log.warning("postgres_unavailable", operation=what, attempt=attempt, retry_in_s=delay, error=str(exc))
                await asyncio.sleep(delay)
            except psycopg.Error as exc:
                raise StoreError(
                    f"{what} failed in schema {self._settings.database_schema}: {exc}; "
                    "are the migrations applied (`gamemetrics stack up` runs them)?"
                ) from exc
        raise StoreError(f"{what}: PostgreSQL stayed unavailable for {self._policy.max_attempts} attempts")

    async def close(self) -> None:
        if self._conn is not None:
            try:
                await self._conn.close()
            except psycopg.Error:
                pass
        self._conn = None
