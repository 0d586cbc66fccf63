"""Run the Alembic migrations into the deployment's schema, then prepare the time partitions."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from gamemetrics.settings import Settings
from store import db
from store.backend import table_backend
from store.errors import StoreError
from store.partitions import ensure_partitions
from store.settings import StoreBackendChoice


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("store") / "migrations"))
    return config


def upgrade(settings: Settings, revision: str = "head", backend: StoreBackendChoice = "auto") -> str:
    """Bring ``settings.database_schema`` to ``revision`` and create the partitions ahead.

    ``backend`` (GAMEMETRICS_STORE_BACKEND) decides how a new schema's ``player_events`` is split
    by day; a schema migrated before keeps its own, and naming the other one explicitly is an error.
    Returns the schema's backend (``native`` or ``timescaledb``).
    """
    config = alembic_config()
    engine = db.engine(settings)
    try:
        with engine.connect() as connection:
            config.attributes["connection"] = connection
            config.attributes["schema"] = settings.database_schema
            config.attributes["store_backend"] = backend
            command.upgrade(config, revision)
    finally:
        engine.dispose()
    with db.connect(settings, autocommit=True) as conn:
        actual = table_backend(conn)
        if backend != "auto" and actual is not None and actual != backend:
            raise StoreError(
                f"GAMEMETRICS_STORE_BACKEND={backend}, but schema {settings.database_schema} was created with"
                f" {actual} partitions: migrate a new schema (GAMEMETRICS_DATABASE_SCHEMA) or drop this one"
            )
        ensure_partitions(conn)
    return actual or "native"


def drop_schema(settings: Settings) -> None:
    """Drop the deployment's schema and everything in it (tests use one schema each)."""
    engine = db.engine(settings)
    try:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{settings.database_schema}" CASCADE'))
    finally:
        engine.dispose()
