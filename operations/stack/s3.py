"""The local S3 server: Versity Gateway (versitygw, Apache-2.0) over a posix directory, on 127.0.0.1.

Built from the Go module proxy with ``go install github.com/versity/versitygw/cmd/versitygw@VERSION``
into ``<state>/s3/bin`` by ``gamemetrics stack install`` (skipped when that binary, or a
``versitygw`` on PATH, is present). Buckets are directories under ``<state>/s3/data``; object
metadata goes to a sidecar directory, so no extended-attribute support is needed. It speaks the
real S3 API (SigV4, multipart, presigned URLs); the archives and exports use it like any S3.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from operations.errors import StackError
from operations.stack import procs
from operations.stack.tls import BrokerTls, ensure_broker_tls
from retention.settings import LOCAL_S3_PORT

VERSITYGW_MODULE = "github.com/versity/versitygw/cmd/versitygw"
VERSITYGW_VERSION = "v1.8.0"
READY_TIMEOUT_S = 30.0
GO_INSTALL_TIMEOUT_S = 3600.0


def _go_can_switch_toolchain(go: str) -> bool:
    """Go 1.21+ (GOTOOLCHAIN): older ones cannot build a module that asks for a newer Go."""
    version = procs.run([go, "env", "GOVERSION"], "go env GOVERSION").stdout.strip().removeprefix("go")
    try:
        major, minor = (int(x) for x in version.split(".")[:2])
    except ValueError:
        return True  # a development build: let go install say
    return (major, minor) >= (1, 21)


class LocalS3:
    def __init__(self, root: Path, port: int = LOCAL_S3_PORT, access_key: str = "gamemetrics",
                 secret_key: str = "gamemetrics-local-secret", region: str = "us-east-1",
                 tls_dir: Path | None = None) -> None:
        """``tls_dir``: serve HTTPS with a local CA's certificate kept there (``ca.pem`` for the clients;
        pgBackRest speaks S3 over TLS only)."""
        self.root = root
        self.bin_dir = root / "bin"
        self.data = root / "data"
        self.meta = root / "meta"
        self.pid_file = root / "versitygw.pid"
        self.log = root / "versitygw.log"
        self.port = port
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region
        self.tls_dir = tls_dir

    @property
    def endpoint_url(self) -> str:
        return f"{'https' if self.tls_dir else 'http'}://127.0.0.1:{self.port}"

    def tls(self) -> "BrokerTls | None":
        """The CA (what clients trust) and the server's key + certificate, made on first use; None over HTTP."""
        return ensure_broker_tls(self.tls_dir) if self.tls_dir else None

    def binary(self) -> Path | None:
        own = self.bin_dir / "versitygw"
        if own.exists():
            return own
        found = shutil.which("versitygw")
        return Path(found) if found else None

    def installed(self) -> bool:
        return self.binary() is not None

    def install(self) -> None:
        """``go install`` the pinned versitygw into bin/ (minutes the first time on a small machine)."""
        if self.installed():
            return
        go = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None)
        if go is None or not _go_can_switch_toolchain(go):
            raise StackError(
                "the S3 server is built with Go >= 1.21 (it then fetches the toolchain versitygw's go.mod asks for from"
                " the Go module proxy); Debian's golang-go is 1.19: install a newer Go, or put a versitygw binary on PATH,"
                " or point GAMEMETRICS_S3_* at another S3"
            )
        self.bin_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "GOBIN": str(self.bin_dir), "GOFLAGS": "-trimpath", "CGO_ENABLED": "0"}
        procs.run([go, "install", f"{VERSITYGW_MODULE}@{VERSITYGW_VERSION}"],
                  f"building versitygw {VERSITYGW_VERSION} with go install", env=env, timeout=GO_INSTALL_TIMEOUT_S)
        if not (self.bin_dir / "versitygw").exists():
            raise StackError(f"go install finished but {self.bin_dir}/versitygw is missing")

    def running_pid(self) -> int | None:
        return procs.read_pid(self.pid_file)

    def running_port(self) -> int | None:
        """The port the running server was started with (its command line); None when it is down."""
        pid = self.running_pid()
        value = procs.cmdline_option(pid, "--port") if pid is not None else None
        port = (value or "").rpartition(":")[2]
        return int(port) if port.isdigit() else None

    def start(self) -> bool:
        """Start the server unless it runs; True when started now."""
        if self.running_pid() is not None:
            return False
        binary = self.binary()
        if binary is None:
            raise StackError(f"versitygw is not installed; run `gamemetrics stack install` (builds {VERSITYGW_VERSION})")
        if procs.port_open("127.0.0.1", self.port):
            raise StackError(f"port {self.port} is taken by another process; stop it or set GAMEMETRICS_S3_ENDPOINT_URL")
        for path in (self.data, self.meta):
            path.mkdir(parents=True, exist_ok=True)
        tls = self.tls()  # one PEM file holds the key and the chain; Go reads each from it
        secure = ["--cert", str(tls.keystore_file), "--key", str(tls.keystore_file)] if tls else []
        with open(self.log, "ab") as out:
            proc = subprocess.Popen(
                [str(binary), "--access", self.access_key, "--secret", self.secret_key, "--region", self.region,
                 "--port", f"127.0.0.1:{self.port}", "--quiet", *secure,
                 "posix", "--sidecar", str(self.meta), str(self.data)],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )
        self.pid_file.write_text(str(proc.pid))
        return True

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        def listening() -> bool:
            if self.running_pid() is None:
                raise StackError(f"versitygw exited during start-up; see {self.log}")
            return procs.port_open("127.0.0.1", self.port)

        procs.wait_until(listening, timeout_s, f"S3 server on port {self.port}", self.log)

    def stop(self) -> bool:
        pid = self.running_pid()
        if pid is None:
            return False
        procs.stop_pid(pid)
        self.pid_file.unlink(missing_ok=True)
        return True
