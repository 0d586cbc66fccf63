"""PostgreSQL for the API: a small pool of read-only, autocommit connections in UTC.

Every query the API runs for a reader goes through :meth:`Database.fetch`, on connections that
refuse writes (``default_transaction_read_only``), stop long statements (``statement_timeout``),
compute dates in UTC (``TimeZone``) and skip JIT compilation (``jit``: measured at 3 s of a 4 s
funnel over 10 M events, compiling plans that span many partitions; these queries never gain it back). The admin mutations write through
:meth:`Database.write`, on a connection of their own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import psycopg
import structlog

from store.errors import StoreError
from gamemetrics.settings import Settings
from store import db
from graphql_api.errors import TooExpensive, Unavailable

log = structlog.get_logger("graphql_api.store")
T = TypeVar("T")


class Database:
    def __init__(self, settings: Settings, size: int, statement_timeout_s: float) -> None:
        self._settings = settings
        self._timeout_ms = int(statement_timeout_s * 1000)
        self._slots = asyncio.Semaphore(size)
        self._idle: list[psycopg.AsyncConnection] = []
        self._closed = False

    async def _open(self) -> psycopg.AsyncConnection:
        try:
            conn = await db.connect_async(self._settings, autocommit=True)
        except StoreError as exc:
            raise Unavailable(f"PostgreSQL is unavailable; retry later ({exc})") from exc
        await conn.execute(
            "SELECT set_config('statement_timeout', %s, false), set_config('TimeZone', 'UTC', false), "
            "set_config('default_transaction_read_only', 'on', false), set_config('jit', 'off', false)",
            (str(self._timeout_ms),),
        )
        return conn

    async def fetch(self, query: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        """All rows of one read-only query."""
        if self._closed:
            raise Unavailable("the API is shutting down")
        async with self._slots:
            conn = self._idle.pop() if self._idle else await self._open()
            healthy = False
            try:
                cursor = await conn.execute(query, params)
                rows = await cursor.fetchall()
                healthy = True
                return rows
            except psycopg.errors.QueryCanceled as exc:
                healthy = True
                raise TooExpensive(
                    f"the query ran past the {self._timeout_ms / 1000:.0f} s limit "
                    "(GAMEMETRICS_GRAPHQL_QUERY_TIMEOUT_S); narrow the time range"
                ) from exc
            except psycopg.OperationalError as exc:
                log.warning("postgres_unavailable", error=str(exc))
                raise Unavailable(f"PostgreSQL did not answer; retry later ({exc})") from exc
            finally:
                if healthy and not conn.closed and not self._closed:
                    self._idle.append(conn)
                else:
                    await conn.close()

    async def write(self, action: Callable[[psycopg.Connection], T]) -> T:
        """Run ``action`` on a fresh read-write connection in a thread (the admin mutations)."""

        def run() -> T:
            with db.connect(self._settings) as conn:
                return action(conn)

        try:
            return await asyncio.to_thread(run)
        except psycopg.OperationalError as exc:
            raise Unavailable(f"PostgreSQL did not answer; retry later ({exc})") from exc

    async def close(self) -> None:
        self._closed = True
        while self._idle:
            await self._idle.pop().close()
