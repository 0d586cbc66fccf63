"""Run the project's own services as child processes for integration tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from gamemetrics.envvars import settings_env
from gamemetrics.settings import Settings

READY_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spawn(args: list[str], settings: Settings, log: Path, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    env = {**os.environ, **settings_env(settings), **(extra_env or {})}
    out = open(log, "ab")
    return subprocess.Popen(
        [sys.executable, "-m", "gamemetrics", *args], env=env, stdout=out, stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout_s: float = 30.0) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@contextmanager
def running_ingest(settings: Settings, log_dir: Path, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """Yields the base URL of a live ingest service; ``extra_env`` sets GAMEMETRICS_INGEST_* knobs."""
    port = free_port()
    proc = _spawn(["serve", "ingest", "--port", str(port)], settings, log_dir / "ingest.log", extra_env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"ingest exited with {proc.returncode}: {(log_dir / 'ingest.log').read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("ingest did not answer /healthz in time")
            time.sleep(0.2)
        yield url
    finally:
        _stop(proc)


@contextmanager
def running_worker(settings: Settings, log_dir: Path, name: str = "worker",
                   extra_env: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    proc = _spawn(["worker"], settings, log_dir / f"{name}.log", {"GAMEMETRICS_WORKER_METRICS_PORT": "0", **(extra_env or {})})
    try:
        yield proc
    finally:
        _stop(proc)


def wait_for(check, timeout_s: float = 60.0, what: str = "condition"):
    """Poll ``check`` until it returns a truthy value; returns it."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(0.25)
