"""Which time-partitioning backend a database can run, and which one a schema was created with.

``player_events`` is split by day either by PostgreSQL's own range partitions (``native``) or as
a TimescaleDB hypertable with daily chunks (``timescaledb``). The choice is made once, when
migration 0001 creates the table (:func:`resolve_backend` from ``GAMEMETRICS_STORE_BACKEND``), and
read back from the table itself afterwards (:func:`table_backend`), so one database can hold
schemas of both kinds and every caller follows what the schema really is.

TimescaleDB is usable when its extension is created in the database, or when it is installed on
the server and preloaded (``shared_preload_libraries``): ``CREATE EXTENSION timescaledb`` on a
server that does not preload it kills the session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import psycopg

from store.errors import StoreError
from store.settings import StoreBackendChoice

StoreBackend = Literal["native", "timescaledb"]
EXTENSION = "timescaledb"
# Serialises CREATE EXTENSION between concurrent migrations of different schemas.
_EXTENSION_LOCK = 0x67616D65  # "game"


@dataclass(frozen=True)
class TimescaleProbe:
    """What the server says about TimescaleDB."""

    installed_version: str | None  # created in this database (pg_extension)
    installed_schema: str | None  # the schema holding its functions
    available: bool  # its control file is on the server (pg_available_extensions)
    preloaded: bool  # named in shared_preload_libraries

    @property
    def usable(self) -> bool:
        return self.installed_version is not None or (self.available and self.preloaded)

    def why_not(self) -> str:
        if not self.available:
            return "the timescaledb extension is not installed on this PostgreSQL server (no timescaledb.control)"
        return "the server does not preload it: add timescaledb to shared_preload_libraries and restart PostgreSQL"


def probe(conn: psycopg.Connection) -> TimescaleProbe:
    installed = conn.execute(
        "SELECT e.extversion, n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
        " WHERE e.extname = %s",
        (EXTENSION,),
    ).fetchone()
    available = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = %s", (EXTENSION,)).fetchone()
    preload = conn.execute("SELECT current_setting('shared_preload_libraries')").fetchone()[0]
    libraries = {lib.strip().strip('"') for lib in preload.split(",")}
    return TimescaleProbe(
        installed_version=installed[0] if installed else None,
        installed_schema=installed[1] if installed else None,
        available=available is not None,
        preloaded=EXTENSION in libraries,
    )


def choose_backend(choice: StoreBackendChoice, found: TimescaleProbe) -> StoreBackend:
    """``choice``, or for ``auto`` TimescaleDB when usable; a StoreError when TimescaleDB is asked
    for but the server cannot run it."""
    if choice == "native":
        return "native"
    if choice == "timescaledb" and not found.usable:
        raise StoreError(f"GAMEMETRICS_STORE_BACKEND=timescaledb, but {found.why_not()}")
    return "timescaledb" if found.usable else "native"


def resolve_backend(conn: psycopg.Connection, choice: StoreBackendChoice) -> StoreBackend:
    """The backend a new schema gets on this database (see :func:`choose_backend`)."""
    return "native" if choice == "native" else choose_backend(choice, probe(conn))


def ensure_extension(conn: psycopg.Connection) -> str:
    """Create the extension when missing (in ``public``, where TimescaleDB is usually installed) and
    return the schema that holds its functions: call them qualified with it, whatever our schema is."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_EXTENSION_LOCK,))
    found = probe(conn)
    if found.installed_schema is not None:
        return found.installed_schema
    if not found.usable:
        raise StoreError(f"cannot create the timescaledb extension: {found.why_not()}")
    try:
        conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb WITH SCHEMA public")
    except psycopg.Error as exc:
        raise StoreError(f"CREATE EXTENSION timescaledb failed: {exc}") from exc
    schema = probe(conn).installed_schema
    assert schema is not None
    return schema


def extension_schema(conn: psycopg.Connection) -> str:
    """The schema of the created extension (a StoreError when it is not created in this database)."""
    schema = probe(conn).installed_schema
    if schema is None:
        raise StoreError("the timescaledb extension is not created in this database")
    return schema


def table_backend(conn: psycopg.Connection) -> StoreBackend | None:
    """How this schema's ``player_events`` is split: None when the table does not exist yet."""
    row = conn.execute(
        "SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass(quote_ident(current_schema()) || '.player_events')"
    ).fetchone()
    if row is None:
        return None
    return "native" if row[0] == "p" else "timescaledb" if _is_hypertable(conn) else "native"


def _is_hypertable(conn: psycopg.Connection) -> bool:
    if probe(conn).installed_version is None:
        return False
    return conn.execute(
        "SELECT 1 FROM timescaledb_information.hypertables"
        " WHERE hypertable_schema = current_schema() AND hypertable_name = 'player_events'"
    ).fetchone() is not None
