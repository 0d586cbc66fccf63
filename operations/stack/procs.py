"""Small process helpers for the local services: pid files, port waits, commands with clear errors."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from operations.errors import StackError

POLL_INTERVAL_S = 0.2


def run(cmd: Sequence[str], what: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure raise StackError naming what we tried and its output."""
    try:
        return subprocess.run(list(cmd), check=True, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    except FileNotFoundError as exc:
        raise StackError(f"{what}: {cmd[0]} is not installed; run `gamemetrics stack install`") from exc
    except subprocess.CalledProcessError as exc:
        output = (exc.stderr or exc.stdout or "").strip()[-2000:]
        raise StackError(f"{what} failed (exit {exc.returncode}): {' '.join(cmd)}\n{output}") from exc


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until(check: Callable[[], bool], timeout_s: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(POLL_INTERVAL_S)
    hint = ""
    if log is not None and log.exists():
        hint = "\nlast lines of " + str(log) + ":\n" + "\n".join(log.read_text(errors="replace").splitlines()[-20:])
    raise StackError(f"{what} did not become ready within {timeout_s:.0f}s{hint}")


def read_pid(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours is not alive
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return True


def stop_pid(pid: int, timeout_s: float = 30.0) -> None:
    """SIGTERM, then SIGKILL after ``timeout_s``."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return
        time.sleep(POLL_INTERVAL_S)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def cmdline(pid: int) -> list[str]:
    """The command line of process ``pid`` (Linux /proc; a process may retitle itself); [] when gone."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return []
    return raw.rstrip("\0").split("\0") if raw else []


def cmdline_option(pid: int, flag: str) -> str | None:
    """The value after ``flag`` on the command line of process ``pid``; None when absent."""
    args = cmdline(pid)
    for i, arg in enumerate(args[:-1]):
        if arg == flag:
            return args[i + 1]
    return None
