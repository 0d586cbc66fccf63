"""A PostgreSQL cluster from the Debian package, with its own data dir, on 127.0.0.1.

PostgreSQL refuses to run as root; when we are root the cluster runs as the ``postgres`` OS user
that the Debian package creates. Its data dir lives under the state dir when that user can reach
it, else under /var/lib/postgresql/gamemetrics/<hash of the state dir> (a note file says where).
Authentication is ``trust`` on 127.0.0.1 only: a developer's local stack, never a deployment.

TimescaleDB: when its extension is installed into this PostgreSQL (``timescaledb.control`` under
``pg_config --sharedir``/extension, e.g. by ``gamemetrics stack install`` from the bundle) the
cluster is started with ``shared_preload_libraries = 'timescaledb'``, written to its own include
file ``gamemetrics-preload.conf`` on every start (with ``port``, so a cluster made with another port
moves to this one on its next start). A cluster that is already running keeps the
libraries it was started with (:meth:`LocalPostgres.preloaded` says which).
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from operations.errors import StackError
from gamemetrics.settings import LOCAL_POSTGRES_PORT
from operations.stack import procs

SUPERUSER = "gamemetrics"
DATABASE = "gamemetrics"
OS_USER = "postgres"
START_TIMEOUT_S = 60

# Tuned for a co-located 2-core, 24 GiB machine; durability settings stay at their safe defaults.
CONF = """
# --- written by `gamemetrics stack up` ---
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = ''
max_connections = 200
shared_buffers = 1GB
work_mem = 32MB
maintenance_work_mem = 256MB
max_wal_size = 4GB
checkpoint_timeout = 15min
wal_compression = on
log_min_duration_statement = 2000
timezone = 'UTC'
include_if_exists = '{preload_file}'
"""
PRELOAD_FILE = "gamemetrics-preload.conf"
INCLUDE_LINE = f"include_if_exists = '{PRELOAD_FILE}'"


def bindir() -> Path | None:
    """The newest PostgreSQL server bin dir installed from Debian's packages."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    return Path(candidates[-1]).parent if candidates else None


def _as_root() -> bool:
    return os.geteuid() == 0


def sharedir(bin_dir: Path) -> Path:
    """``pg_config --sharedir`` of the PostgreSQL whose server binaries are in ``bin_dir``."""
    result = procs.run([str(bin_dir / "pg_config"), "--sharedir"], "asking pg_config for the share dir")
    return Path(result.stdout.strip())


def timescaledb_installed(bin_dir: Path) -> bool:
    """True when the TimescaleDB extension is installed into that PostgreSQL."""
    return (sharedir(bin_dir) / "extension" / "timescaledb.control").is_file()


class LocalPostgres:
    def __init__(
        self, root: Path, port: int = LOCAL_POSTGRES_PORT, bin_dir: Path | None = None,
        preload: tuple[str, ...] | None = None, extra_conf: str = "",
    ) -> None:
        """``bin_dir``: the server binaries (default: the newest Debian PostgreSQL); ``preload``: the
        ``shared_preload_libraries`` to start with (default: timescaledb when it is installed);
        ``extra_conf``: more settings for the include file (e.g. WAL archiving to pgBackRest)."""
        self.root = root
        self.port = port
        self.note = root / "DATA_DIR"
        self._bin_dir = bin_dir
        self._preload = preload
        self.extra_conf = extra_conf

    @property
    def url(self) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{DATABASE}"

    def installed(self) -> bool:
        return self.bin_dir() is not None

    def bin_dir(self) -> Path | None:
        return self._bin_dir or bindir()

    def timescaledb_installed(self) -> bool:
        found = self.bin_dir()
        return found is not None and timescaledb_installed(found)

    def preload(self) -> tuple[str, ...]:
        """The libraries this cluster is (re)started with."""
        if self._preload is not None:
            return self._preload
        return ("timescaledb",) if self.timescaledb_installed() else ()

    def preloaded(self) -> tuple[str, ...]:
        """The libraries the running cluster preloads (asks it; empty when it is down)."""
        import psycopg

        try:
            with psycopg.connect(f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/postgres", connect_timeout=2) as conn:
                value = conn.execute("SHOW shared_preload_libraries").fetchone()[0]
        except psycopg.OperationalError:
            return ()
        return tuple(lib.strip().strip('"') for lib in value.split(",") if lib.strip())

    def _user_cmd(self, cmd: list[str]) -> list[str]:
        return ["runuser", "-u", OS_USER, "--", *cmd] if _as_root() else cmd

    def _reachable_by_os_user(self, path: Path) -> bool:
        if not _as_root():
            return True
        return subprocess.run(["runuser", "-u", OS_USER, "--", "test", "-x", str(path)]).returncode == 0

    @property
    def data(self) -> Path:
        if self.note.exists():
            return Path(self.note.read_text().strip())
        local = self.root / "data"
        if self._reachable_by_os_user(self.root.parent):
            return local
        digest = hashlib.sha1(str(self.root).encode()).hexdigest()[:10]
        return Path("/var/lib/postgresql/gamemetrics") / digest / "data"

    @property
    def log(self) -> Path:
        return self.data.parent / "postgres.log"

    def _pg(self, tool: str) -> str:
        found = self.bin_dir()
        if found is None:
            raise StackError("PostgreSQL server binaries are missing; run `gamemetrics stack install`")
        return str(found / tool)

    def running(self) -> bool:
        if not (self.data / "PG_VERSION").exists():
            return False
        result = subprocess.run(self._user_cmd([self._pg("pg_ctl"), "status", "-D", str(self.data)]), capture_output=True)
        return result.returncode == 0

    def _data_dir(self) -> Path:
        """The empty data directory (mode 700), owned by the postgres user when we run as root."""
        data = self.data
        self.root.mkdir(parents=True, exist_ok=True)
        data.parent.mkdir(parents=True, exist_ok=True)
        data.mkdir(mode=0o700, exist_ok=True)
        if _as_root():
            shutil.chown(data.parent, OS_USER, OS_USER)  # the postgres user writes its log beside the data
            shutil.chown(data, OS_USER, OS_USER)
        return data

    def _init(self) -> None:
        data = self._data_dir()
        self.note.write_text(str(data) + "\n")
        procs.run(
            self._user_cmd([
                self._pg("initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-locale",
            ]),
            "initialising the PostgreSQL cluster",
        )
        with open(data / "postgresql.conf", "a") as conf:
            conf.write(CONF.format(port=self.port, preload_file=PRELOAD_FILE))

    def _write_preload(self) -> None:
        """The include file with shared_preload_libraries (a cluster made before it gets the include line)."""
        conf = self.data / "postgresql.conf"
        if INCLUDE_LINE not in conf.read_text():
            with open(conf, "a") as out:
                out.write(INCLUDE_LINE + "\n")
        libraries = ",".join(self.preload())
        target = self.data / PRELOAD_FILE
        # the port too: this file is included last, so it wins over the `port =` that initdb's config got
        # (a state folder made with the old default port, 55432, moves to self.port on its next start)
        lines = ["# written by `gamemetrics stack up` on every start", f"port = {self.port}",
                 f"shared_preload_libraries = '{libraries}'"]
        if "timescaledb" in self.preload():
            lines.append("timescaledb.telemetry_level = 'off'  # a developer's stack reports nothing home")
        if self.extra_conf:
            lines.append(self.extra_conf.strip())
        target.write_text("\n".join(lines) + "\n")
        if _as_root():
            shutil.chown(target, OS_USER, OS_USER)

    def start(self) -> bool:
        if self.running():
            return False
        if procs.port_open("127.0.0.1", self.port):
            raise StackError(
                f"port {self.port} is taken by another process; stop it or set GAMEMETRICS_DATABASE_URL to use it"
            )
        if not (self.data / "PG_VERSION").exists():
            self._init()
        self._write_preload()
        procs.run(
            self._user_cmd([
                self._pg("pg_ctl"), "start", "-D", str(self.data), "-l", str(self.log), "-w", "-t", str(START_TIMEOUT_S),
            ]),
            f"starting PostgreSQL (log: {self.log})",
        )
        return True

    def wait_ready(self, url: str, timeout_s: float = START_TIMEOUT_S) -> None:
        import psycopg

        def answers() -> bool:
            try:
                with psycopg.connect(url, connect_timeout=2):
                    return True
            except psycopg.OperationalError as exc:
                if "does not exist" in str(exc):
                    return True  # the server answers; the database is created next
                return False

        procs.wait_until(answers, timeout_s, f"PostgreSQL at {url}", self.log)

    def ensure_database(self) -> bool:
        """Create the ``gamemetrics`` database on the local cluster if it is missing."""
        import psycopg

        admin_url = f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/postgres"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone():
                return False
            conn.execute(f'CREATE DATABASE "{DATABASE}"')
            return True

    def running_port(self) -> int | None:
        """The port the running cluster listens on (line 4 of postmaster.pid); None when it is down."""
        if not self.running():
            return None
        try:
            lines = (self.data / "postmaster.pid").read_text().splitlines()
        except OSError:
            return None
        return int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else None

    def stop(self, mode: str = "fast") -> bool:
        """``mode``: pg_ctl's shutdown mode; ``immediate`` does not wait for the archiver (a crash, for drills)."""
        if not self.running():
            return False
        procs.run(self._user_cmd([self._pg("pg_ctl"), "stop", "-D", str(self.data), "-m", mode, "-w"]), "stopping PostgreSQL")
        return True

    def purge(self) -> None:
        data = self.data
        shutil.rmtree(data, ignore_errors=True)
        if data.parent != self.root:
            shutil.rmtree(data.parent, ignore_errors=True)
        self.note.unlink(missing_ok=True)
