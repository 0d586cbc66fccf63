"""PostgreSQL for the API: a pool (psycopg_pool) of read-only, autocommit connections in UTC, to the
streaming replica when GAMEMETRICS_DATABASE_READ_URL names one (else to the primary).

Every query the API runs for a reader goes through :meth:`Database.fetch`, on connections that
refuse writes (``default_transaction_read_only``), stop long statements (``statement_timeout``),
compute dates in UTC (``TimeZone``) and skip JIT compilation (``jit``: measured at 3 s of a 4 s
funnel over 10 M events, compiling plans that span many partitions; these queries never gain it back). The admin mutations write through
:meth:`Database.write`, on a connection of their own to the primary.

Driver errors are translated by :func:`store.connections.translate`: unavailable (down, restarting,
no free connection within ``ACQUIRE_TIMEOUT_S``) -> ``Unavailable``; a cancelled statement ->
``TooExpensive``. The pool checks a connection before lending it, so a PostgreSQL restart costs
no failed query once the server is back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import psycopg
import structlog
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from gamemetrics.settings import Settings
from graphql_api.errors import TooExpensive, Unavailable
from store import db
from store.connections import translate
from store.errors import StatementTimeout, StoreUnavailable

log = structlog.get_logger("graphql_api.database")
T = TypeVar("T")

ACQUIRE_TIMEOUT_S = 5.0


class Database:
    def __init__(self, settings: Settings, size: int, statement_timeout_s: float) -> None:
        self._settings = settings
        self._timeout_ms = int(statement_timeout_s * 1000)
        self._pool = AsyncConnectionPool(
            settings.read_database_url, min_size=1, max_size=size, open=False, timeout=ACQUIRE_TIMEOUT_S,
            kwargs={"autocommit": True, "options": db.search_path_option(settings.database_schema)},
            configure=self._configure, check=AsyncConnectionPool.check_connection, name="graphql-api",
        )
        self._opened = False
        self._open_lock = asyncio.Lock()
        self._closed = False

    async def _configure(self, conn: psycopg.AsyncConnection) -> None:
        await conn.execute(
            "SELECT set_config('statement_timeout', %s, false), set_config('TimeZone', 'UTC', false), "
            "set_config('default_transaction_read_only', 'on', false), set_config('jit', 'off', false)",
            (str(self._timeout_ms),),
        )

    async def _ensure_open(self) -> None:
        if not self._opened:
            async with self._open_lock:
                if not self._opened:
                    await self._pool.open(wait=False)  # connects in the background; PostgreSQL may be down
                    self._opened = True

    async def fetch(self, query: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        """All rows of one read-only query."""
        if self._closed:
            raise Unavailable("the API is shutting down")
        await self._ensure_open()
        try:
            async with self._pool.connection() as conn:
                cursor = await conn.execute(query, params)
                return await cursor.fetchall()
        except PoolTimeout as exc:
            log.warning("postgres_unavailable", error=str(exc))
            raise Unavailable(f"PostgreSQL is unavailable; retry later (no connection within {ACQUIRE_TIMEOUT_S:.0f} s)") from exc
        except psycopg.Error as exc:
            raise self._translated(exc, "a query") from exc

    def _translated(self, exc: psycopg.Error, what: str) -> Exception:
        error = translate(exc, what, self._settings)
        if isinstance(error, StatementTimeout):
            return TooExpensive(
                f"the query ran past the {self._timeout_ms / 1000:.0f} s limit "
                "(GAMEMETRICS_GRAPHQL_QUERY_TIMEOUT_S); narrow the time range"
            )
        if isinstance(error, StoreUnavailable):
            log.warning("postgres_unavailable", error=str(exc))
            return Unavailable(f"PostgreSQL is unavailable; retry later ({exc})")
        return error

    async def write(self, action: Callable[[psycopg.Connection], T]) -> T:
        """Run ``action`` on a fresh read-write connection in a thread (the admin mutations)."""

        def run() -> T:
            with db.connect(self._settings) as conn:
                return action(conn)

        try:
            return await asyncio.to_thread(run)
        except StoreUnavailable as exc:
            raise Unavailable(f"PostgreSQL is unavailable; retry later ({exc})") from exc
        except psycopg.Error as exc:
            raise self._translated(exc, "an admin mutation") from exc

    async def close(self) -> None:
        self._closed = True
        if self._opened:
            await self._pool.close()
