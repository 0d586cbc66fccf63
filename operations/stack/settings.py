"""Settings of ``gamemetrics stack install|up``, read once from ``GAMEMETRICS_STACK_*``."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO = Path(__file__).resolve().parents[2]


def find_bundle(repo: Path = REPO) -> Path:
    """``shared/timescaledb`` in the nearest ancestor of the repository that has one (the repository's
    parent in CI, further up for a git worktree); ``<repo>/../shared/timescaledb`` when none has."""
    for ancestor in repo.parents:
        if (ancestor / "shared" / "timescaledb").is_dir():
            return ancestor / "shared" / "timescaledb"
    return repo.parent / "shared" / "timescaledb"


DEFAULT_TIMESCALEDB_BUNDLE = find_bundle()


class StackSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GAMEMETRICS_STACK_", frozen=True, extra="ignore")

    timescaledb_bundle: Path = Field(
        DEFAULT_TIMESCALEDB_BUNDLE,
        description="Directory of the TimescaleDB bundle (install.sh + timescaledb-pg15-*.tar.gz) that"
        " `stack install` installs into the local PostgreSQL when it is there; absent = skipped.",
    )
