"""Where each local service keeps its files under the state dir."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StackPaths:
    root: Path

    @classmethod
    def under(cls, state_dir: Path) -> "StackPaths":
        return cls(state_dir.expanduser().resolve())

    @property
    def kafka(self) -> Path:
        return self.root / "kafka"

    @property
    def postgres(self) -> Path:
        return self.root / "postgres"

    @property
    def redis(self) -> Path:
        return self.root / "redis"

    @property
    def s3(self) -> Path:
        return self.root / "s3"

    @property
    def run(self) -> Path:
        """Pid files and logs of the project's own services (ingest, workers, demo)."""
        return self.root / "run"
