"""The project's own services (ingest, workers) run in the background for the demo.

Each runs as ``python -m operations ...`` in its own session, with a pid file and a log under
``<state dir>/run``. ``gamemetrics stack down`` stops them before the stack.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from operations.stack import procs


@dataclass(frozen=True)
class Service:
    name: str
    args: tuple[str, ...]


class ProjectServices:
    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir

    def pid_file(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.run_dir / f"{name}.log"

    def running(self, name: str) -> int | None:
        return procs.read_pid(self.pid_file(name))

    def start(self, service: Service, env: dict[str, str] | None = None) -> bool:
        """Start unless running; True when started now."""
        if self.running(service.name) is not None:
            return False
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_file(service.name), "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "operations", *service.args],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {})}, start_new_session=True,
            )
        self.pid_file(service.name).write_text(str(proc.pid))
        return True

    def stop_all(self) -> list[str]:
        stopped = []
        for pid_file in sorted(self.run_dir.glob("*.pid")):
            pid = procs.read_pid(pid_file)
            if pid is not None:
                try:
                    os.killpg(pid, 15)
                except ProcessLookupError:
                    pass
                procs.stop_pid(pid)
                stopped.append(pid_file.stem)
            pid_file.unlink(missing_ok=True)
        return stopped
