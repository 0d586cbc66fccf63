"""A Redis server from the Debian package, on 127.0.0.1 with its files under the state dir."""

from __future__ import annotations

import shutil
from pathlib import Path

from operations.errors import StackError
from gamemetrics.settings import LOCAL_REDIS_PORT
from operations.stack import procs

READY_TIMEOUT_S = 30.0


class LocalRedis:
    def __init__(self, root: Path, port: int = LOCAL_REDIS_PORT) -> None:
        self.root = root
        self.data = root / "data"
        self.pid_file = root / "redis.pid"
        self.log = root / "redis.log"
        self.port = port

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def installed(self) -> bool:
        return shutil.which("redis-server") is not None

    def running_pid(self) -> int | None:
        return procs.read_pid(self.pid_file)

    def running_port(self) -> int | None:
        """The port the running server listens on; None when it is down. redis-server retitles itself
        ``redis-server 127.0.0.1:PORT`` (its /proc command line), else its ``--port`` option says."""
        pid = self.running_pid()
        if pid is None:
            return None
        title = " ".join(procs.cmdline(pid)).split()
        value = procs.cmdline_option(pid, "--port") or (title[1].rpartition(":")[2] if len(title) > 1 else "")
        return int(value) if value.isdigit() else None

    def start(self) -> bool:
        if self.running_pid() is not None:
            return False
        if not self.installed():
            raise StackError("redis-server is not installed; run `gamemetrics stack install`")
        if procs.port_open("127.0.0.1", self.port):
            raise StackError(
                f"port {self.port} is taken by another process; stop it or set GAMEMETRICS_REDIS_URL to use it"
            )
        self.data.mkdir(parents=True, exist_ok=True)
        procs.run(
            [
                "redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.data),
                "--daemonize", "yes", "--pidfile", str(self.pid_file), "--logfile", str(self.log),
                "--save", "", "--appendonly", "no", "--protected-mode", "yes",
            ],
            "starting redis-server",
        )
        return True

    def wait_ready(self, url: str, timeout_s: float = READY_TIMEOUT_S) -> None:
        import redis

        client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        try:
            procs.wait_until(answers, timeout_s, f"Redis at {url}", self.log)
        finally:
            client.close()

    def stop(self) -> bool:
        pid = self.running_pid()
        if pid is None:
            return False
        procs.stop_pid(pid)
        return True
