"""A Qdrant server from the bundle in ``../shared/qdrant/`` (a release build with its ``start.sh``),
for the recommender's tests and benchmarks against a real server. The project never needs it:
without ``GAMEMETRICS_QDRANT_URL`` the recommender uses Qdrant local mode under the state dir.

``find_bundle()`` looks for ``shared/qdrant/start.sh`` beside the checkout and one level up (CI lays
``shared/`` beside the clone; worktrees sit one folder deeper).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from operations.errors import StackError

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60


def find_bundle(root: Path = REPO_ROOT) -> Path | None:
    for base in (root.parent, root.parent.parent):
        candidate = base / "shared" / "qdrant"
        if (candidate / "start.sh").is_file() and any(candidate.glob("qdrant-*-linux-x86_64.tar.gz")):
            return candidate
    return None


class LocalQdrant:
    def __init__(self, bundle: Path, data_dir: Path, http_port: int, grpc_port: int,
                 config: dict[str, str] | None = None) -> None:
        """``config``: Qdrant's own ``QDRANT__*`` variables (e.g. ``QDRANT__SERVICE__API_KEY``)."""
        self.bundle = bundle
        self.data_dir = data_dir
        self.http_port = http_port
        self.grpc_port = grpc_port
        self.config = dict(config or {})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def _run(self, *args: str) -> str:
        try:
            done = subprocess.run(["bash", str(self.bundle / "start.sh"), *args], capture_output=True, text=True,
                                  timeout=START_TIMEOUT_S + 30, check=True, env={**os.environ, **self.config})
        except subprocess.CalledProcessError as exc:
            raise StackError(f"qdrant {' '.join(args)} failed: {(exc.stderr or exc.stdout).strip()[-2000:]}") from exc
        except subprocess.TimeoutExpired as exc:
            raise StackError(f"qdrant {' '.join(args)} did not finish in time") from exc
        return done.stdout.strip()

    def start(self) -> str:
        """Start it (a no-op when it runs); its URL."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self._run("start", "--http-port", str(self.http_port), "--grpc-port", str(self.grpc_port),
                         "--data-dir", str(self.data_dir))

    def stop(self) -> None:
        self._run("stop", "--data-dir", str(self.data_dir))
