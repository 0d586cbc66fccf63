"""The one way the stages hold a PostgreSQL connection: reconnect when it is gone, and translate
driver errors into the store's own (:mod:`store.errors`) at this boundary.

    AsyncConnectionHolder   one async connection, reopened on demand (the ingest key lookup, the
                            landing worker's sink, the notification agents); ``session`` yields it
                            and translates whatever psycopg raises inside
    translate(exc, what)    psycopg error -> StoreUnavailable / StoreConflict / StatementTimeout /
                            StoreError, with what was being done and where
    run_until_back          an operation retried while the store is unavailable
    WaitingConnection       an autocommit holder whose ``run`` waits while the store is unavailable
                            (the notification agents: they cannot skip work without the database)

"Unavailable" is every error that says the server or the connection is gone or refusing for now:
``OperationalError`` (connection failure, admin or crash shutdown, cannot connect now, too many
connections, idle-session timeout, ...), a closed connection (``InterfaceError``) and the SQLSTATE
classes 08 (connection exception), 57P (operator intervention) and 53 (insufficient resources).
A cancelled statement (57014) is a timeout, a deadlock or serialization failure (class 40) a conflict.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import psycopg
import psycopg.errors
import structlog

from gamemetrics.redact import redact, url_passwords
from gamemetrics.retry import UNTIL_BACK, RetryPolicy
from gamemetrics.settings import Settings
from store import db
from store.errors import StatementTimeout, StoreConflict, StoreError, StoreUnavailable

log = structlog.get_logger("store.connections")
T = TypeVar("T")

_UNAVAILABLE_CLASSES = ("08", "53", "57")


def is_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` means the database is down or the connection lost (retry later, never a bug)."""
    if isinstance(exc, StoreUnavailable):
        return True
    if isinstance(exc, psycopg.errors.QueryCanceled):
        return False
    if isinstance(exc, psycopg.InterfaceError | psycopg.OperationalError) and not _is_conflict(exc):
        return True
    state = getattr(exc, "sqlstate", None) or ""
    return state[:2] in _UNAVAILABLE_CLASSES


def _is_conflict(exc: BaseException) -> bool:
    return (getattr(exc, "sqlstate", None) or "")[:2] == "40"


def translate(exc: psycopg.Error, what: str, settings: Settings | None = None) -> StoreError:
    """The store's error for a driver error, credentials masked (``gamemetrics.redact``); raise it ``from exc``."""
    made = _translate(exc, what, settings)
    made.args = (redact(str(made), url_passwords(settings.database_url) if settings is not None else ()),)
    return made


def _translate(exc: psycopg.Error, what: str, settings: Settings | None) -> StoreError:
    where = f" (schema {settings.database_schema})" if settings is not None else ""
    if isinstance(exc, psycopg.errors.QueryCanceled):
        return StatementTimeout(f"{what}: the statement was cancelled ({exc})")
    if _is_conflict(exc):
        return StoreConflict(f"{what}: the transaction lost a race ({exc}); running it again is safe")
    if is_unavailable(exc):
        return StoreUnavailable(f"{what}: PostgreSQL is unavailable ({exc}); retry later")
    hint = ""
    if isinstance(exc, psycopg.errors.UndefinedTable | psycopg.errors.UndefinedColumn):
        hint = "; are the migrations applied (`gamemetrics stack up` runs them)?"
    return StoreError(f"{what} failed{where}: {exc}{hint}")


Setup = Callable[[psycopg.AsyncConnection], Awaitable[None]]


class AsyncConnectionHolder:
    """One async connection to the store, opened on first use and reopened after it broke.

    ``setup`` runs on every new connection (session settings, temporary tables). Any psycopg error
    raised inside :meth:`session` leaves as a :mod:`store.errors` error; on an unavailable one the
    connection is dropped, so the next session reconnects.
    """

    def __init__(self, settings: Settings, *, autocommit: bool = False, setup: Setup | None = None) -> None:
        self._settings = settings
        self._autocommit = autocommit
        self._setup = setup
        self._conn: psycopg.AsyncConnection | None = None

    async def _connection(self) -> psycopg.AsyncConnection:
        if self._conn is None or self._conn.closed or self._conn.broken:
            await self.close()
            conn = await db.connect_async(self._settings, autocommit=self._autocommit)  # StoreUnavailable
            try:
                if self._setup is not None:
                    await self._setup(conn)
                    if not self._autocommit:
                        await conn.commit()
            except BaseException:
                await conn.close()
                raise
            self._conn = conn
        return self._conn

    @asynccontextmanager
    async def session(self, what: str) -> AsyncIterator[psycopg.AsyncConnection]:
        """The connection, for one operation named ``what`` (in error messages)."""
        try:
            yield await self._connection()
        except psycopg.Error as exc:
            error = translate(exc, what, self._settings)
            if isinstance(error, StoreUnavailable):
                await self.close()
            raise error from exc
        except StoreUnavailable:
            await self.close()
            raise

    @asynccontextmanager
    async def transaction(self, what: str) -> AsyncIterator[psycopg.AsyncConnection]:
        """A transaction: committed on a clean exit, rolled back on any error (then translated)."""
        async with self.session(what) as conn:
            async with conn.transaction():
                yield conn

    async def run(self, what: str, operation: Callable[[psycopg.AsyncConnection], Awaitable[T]]) -> T:
        async with self.session(what) as conn:
            return await operation(conn)

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.close()
            except psycopg.Error:  # closing a broken connection must not hide the original error
                pass


async def run_until_back(
    holder: AsyncConnectionHolder, what: str, operation: Callable[[psycopg.AsyncConnection], Awaitable[T]],
    policy: RetryPolicy = UNTIL_BACK,
) -> T:
    """``holder.run(what, operation)``, repeated while the store is unavailable or the transaction lost a race."""
    for attempt in range(1, policy.max_attempts + 1):
        try:
            return await holder.run(what, operation)
        except (StoreUnavailable, StoreConflict) as exc:
            if attempt == policy.max_attempts:
                raise
            delay = policy.delay_after(attempt)
            log.warning("postgres_unavailable", operation=what, attempt=attempt, retry_in_s=delay, error=str(exc))
            await asyncio.sleep(delay)
    raise StoreUnavailable(f"{what}: PostgreSQL stayed unavailable for {policy.max_attempts} attempts")


class WaitingConnection:
    """One autocommit connection whose operations wait (``policy``) while the store is unavailable.

    For callers that cannot do their work without the database and must not skip it: they hold
    their Kafka offsets meanwhile. Errors other than unavailability leave as ``StoreError``.
    """

    def __init__(self, settings: Settings, policy: RetryPolicy = UNTIL_BACK) -> None:
        self._holder = AsyncConnectionHolder(settings, autocommit=True)
        self._policy = policy

    async def run(self, what: str, operation: Callable[[psycopg.AsyncConnection], Awaitable[T]]) -> T:
        return await run_until_back(self._holder, what, operation, self._policy)

    async def close(self) -> None:
        await self._holder.close()
