"""Settings of ``gamemetrics stack install|up``, read once from ``GAMEMETRICS_STACK_*``."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# The repository's parent holds shared/ in CI and on the team's machines: <repo>/../shared/timescaledb
DEFAULT_TIMESCALEDB_BUNDLE = Path(__file__).resolve().parents[2].parent / "shared" / "timescaledb"


class StackSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GAMEMETRICS_STACK_", frozen=True, extra="ignore")

    timescaledb_bundle: Path = Field(
        DEFAULT_TIMESCALEDB_BUNDLE,
        description="Directory of the TimescaleDB bundle (install.sh + timescaledb-pg15-*.tar.gz) that"
        " `stack install` installs into the local PostgreSQL when it is there; absent = skipped.",
    )
