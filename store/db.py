"""Connections to the store, with the deployment's schema first on the ``search_path``.

Opening one that fails raises ``StoreUnavailable``; long-lived connections are held by
:class:`store.connections.AsyncConnectionHolder`, which reconnects and translates errors.
"""

from __future__ import annotations

import psycopg
import sqlalchemy
from sqlalchemy.engine import Engine

from gamemetrics.redact import redact, redact_url, url_passwords
from gamemetrics.settings import Settings
from store.errors import StoreUnavailable


def search_path_option(schema: str) -> str:
    return f"-c search_path={schema},public"


def unavailable(settings: Settings, exc: Exception) -> StoreUnavailable:
    """The error for a failed connection: where (the URL without its password) and why, credentials masked."""
    where = redact_url(settings.database_url)
    why = redact(str(exc), url_passwords(settings.database_url))
    return StoreUnavailable(f"cannot connect to PostgreSQL at {where}: {why}")


def connect(settings: Settings, autocommit: bool = False) -> psycopg.Connection:
    """A psycopg connection whose unqualified table names resolve in ``settings.database_schema``."""
    try:
        return psycopg.connect(
            settings.database_url, autocommit=autocommit, options=search_path_option(settings.database_schema)
        )
    except psycopg.OperationalError as exc:
        raise unavailable(settings, exc) from exc


async def connect_async(settings: Settings, autocommit: bool = False) -> psycopg.AsyncConnection:
    try:
        return await psycopg.AsyncConnection.connect(
            settings.database_url, autocommit=autocommit, options=search_path_option(settings.database_schema)
        )
    except psycopg.OperationalError as exc:
        raise unavailable(settings, exc) from exc


def engine(settings: Settings) -> Engine:
    """A SQLAlchemy engine (psycopg 3 driver) on the same schema."""
    return sqlalchemy.create_engine(
        settings.sqlalchemy_url,
        connect_args={"options": search_path_option(settings.database_schema)},
        pool_pre_ping=True,
    )
