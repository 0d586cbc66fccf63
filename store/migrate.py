"""Run the Alembic migrations into the deployment's schema, then prepare the time partitions."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from gamemetrics.settings import Settings
from store import db
from store.partitions import ensure_partitions


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("store") / "migrations"))
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Bring ``settings.database_schema`` to ``revision`` and create the partitions ahead."""
    config = alembic_config()
    engine = db.engine(settings)
    try:
        with engine.connect() as connection:
            config.attributes["connection"] = connection
            config.attributes["schema"] = settings.database_schema
            command.upgrade(config, revision)
    finally:
        engine.dispose()
    with db.connect(settings, autocommit=True) as conn:
        ensure_partitions(conn)


def drop_schema(settings: Settings) -> None:
    """Drop the deployment's schema and everything in it (tests use one schema each)."""
    engine = db.engine(settings)
    try:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{settings.database_schema}" CASCADE'))
    finally:
        engine.dispose()
