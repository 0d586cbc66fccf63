"""Settings of the store, read once at start-up from ``GAMEMETRICS_STORE_*``.

``GAMEMETRICS_STORE_BACKEND`` chooses how ``player_events`` is split by time when a schema is
first migrated (it is fixed from then on, see :mod:`store.backend`):

- ``auto`` (default): a TimescaleDB hypertable when the database can run TimescaleDB (the
  extension is created there, or installed and preloaded), native daily partitions otherwise;
- ``native``: PostgreSQL's own range partitions, one a day, and a default partition;
- ``timescaledb``: a hypertable with daily chunks; fails clearly when TimescaleDB is absent.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

StoreBackendChoice = Literal["auto", "native", "timescaledb"]


class StoreSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GAMEMETRICS_STORE_", frozen=True, extra="ignore")

    backend: StoreBackendChoice = Field(
        "auto", description="native | timescaledb | auto (TimescaleDB when the database can run it)."
    )
