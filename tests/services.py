"""Run the project's own services as child processes for integration tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
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
        [sys.executable, "-m", "operations", *args], env=env, stdout=out, stderr=subprocess.STDOUT,
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
def running_service(args: list[str], settings: Settings, log: Path, ready: Callable[[httpx.Response], bool],
                    ready_path: str, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """``gamemetrics serve ... --port P`` as a child process; yields its base URL once ``ready`` says so."""
    port = free_port()
    proc = _spawn([*args, "--port", str(port)], settings, log, extra_env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{' '.join(args)} exited with {proc.returncode}: {log.read_text()[-3000:]}")
            try:
                if ready(httpx.get(f"{url}{ready_path}", timeout=1)):
                    break
            except (httpx.HTTPError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{' '.join(args)} was not ready in time: {log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield url
    finally:
        _stop(proc)


@contextmanager
def running_ingest(settings: Settings, log_dir: Path, extra_env: dict[str, str] | None = None,
                   workers: int = 1, server: str = "uvicorn") -> Iterator[str]:
    """Yields the base URL of a live ingest service (``workers`` server processes of ``server``);
    ``extra_env`` sets GAMEMETRICS_INGEST_* knobs."""
    args = ["serve", "ingest", "--workers", str(workers), *(["--server", server] if server != "uvicorn" else [])]
    with running_service(args, settings, log_dir / "ingest.log",
                         lambda r: r.status_code == 200, "/healthz", extra_env) as url:
        yield url


@contextmanager
def running_worker(settings: Settings, log_dir: Path, name: str = "worker",
                   extra_env: dict[str, str] | None = None, args: tuple[str, ...] = ("worker",)) -> Iterator[subprocess.Popen]:
    """A Faust process of ``gamemetrics ARGS`` (default: a landing worker) until the block ends."""
    proc = _spawn(list(args), settings, log_dir / f"{name}.log", {"GAMEMETRICS_WORKER_METRICS_PORT": "0", **(extra_env or {})})
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
