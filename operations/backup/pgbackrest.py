"""pgBackRest for one PostgreSQL cluster: its config, the cluster settings that archive WAL to it,
and the commands (stanza-create, backup, info, check, expire, restore to a time).

The repository is an S3 bucket (``BackupSettings``), encrypted with ``repo1-cipher-type=aes-256-cbc``.
pgBackRest runs as the OS user of the cluster (``postgres`` when we are root) and talks to the
cluster over a Unix socket (it has no TCP option for the local cluster), so a cluster backed up
here gets a socket directory beside its data.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from operations.backup.settings import BackupSettings
from operations.errors import BackupError

COMMAND_TIMEOUT_S = 1800.0
BACKUP_TYPES = ("full", "diff", "incr")


@dataclass(frozen=True)
class Cluster:
    """The PostgreSQL cluster pgBackRest backs up (or restores into)."""

    data: Path
    port: int
    socket_dir: Path
    user: str = "gamemetrics"


@dataclass(frozen=True)
class BackupInfo:
    label: str
    type: str
    started: datetime
    stopped: datetime
    size: int  # bytes of the database
    repo_size: int  # bytes in the repository (compressed, encrypted; an incremental holds only what changed)
    wal_start: str
    wal_stop: str


def render_config(settings: BackupSettings, cluster: Cluster, home: Path) -> str:
    """pgbackrest.conf for ``cluster`` with its logs, locks and spool under ``home`` (pure)."""
    s = settings
    lines = [
        "# written by gamemetrics backup; edits are overwritten",
        "[global]",
        "repo1-type=s3",
        f"repo1-s3-endpoint={s.s3_endpoint}",
        f"repo1-storage-port={s.s3_port}",
        f"repo1-s3-bucket={s.s3_bucket}",
        f"repo1-s3-region={s.s3_region}",
        f"repo1-s3-key={s.s3_access_key_id}",
        f"repo1-s3-key-secret={s.s3_secret_access_key.get_secret_value()}",
        f"repo1-s3-uri-style={s.s3_uri_style}",
        f"repo1-path={s.s3_path}",
        "repo1-cipher-type=aes-256-cbc",
        f"repo1-cipher-pass={s.cipher_pass.get_secret_value()}",
        f"repo1-retention-full={s.retention_full}",
        f"repo1-retention-diff={s.retention_diff}",
        "repo1-bundle=y",  # small files in bundles: fewer S3 objects
        "start-fast=y",  # an immediate checkpoint: the backup starts now, not at the next scheduled one
        "compress-type=lz4",
        f"process-max={s.process_max}",
        f"log-path={home / 'log'}",
        f"lock-path={home / 'lock'}",
        f"spool-path={home / 'spool'}",
        "log-level-console=warn",
        "log-level-file=info",
    ]
    if s.s3_host:
        lines.append(f"repo1-storage-host={s.s3_host}")
    if s.s3_ca_file is not None:
        lines.append(f"repo1-storage-ca-file={s.s3_ca_file}")
    lines += [
        "",
        f"[{s.stanza}]",
        f"pg1-path={cluster.data}",
        f"pg1-port={cluster.port}",
        f"pg1-socket-path={cluster.socket_dir}",
        f"pg1-user={cluster.user}",
    ]
    return "\n".join(lines) + "\n"


def archiving_conf(config_file: Path, settings: BackupSettings, socket_dir: Path) -> str:
    """The cluster settings that push every finished WAL segment to the repository (pure)."""
    return "\n".join([
        "# WAL archiving to pgBackRest (gamemetrics backup)",
        "wal_level = replica",
        "archive_mode = on",
        f"archive_command = 'pgbackrest --config={config_file} --stanza={settings.stanza} archive-push %p'",
        f"archive_timeout = {settings.archive_timeout_s}",
        f"unix_socket_directories = '{socket_dir}'",
        "unix_socket_permissions = 0700",
    ]) + "\n"


def parse_info(text: str, stanza: str) -> list[BackupInfo]:
    """The backups of ``stanza`` in ``pgbackrest info --output=json``, oldest first (pure)."""
    def when(epoch: int) -> datetime:
        return datetime.fromtimestamp(epoch, tz=timezone.utc)

    for entry in json.loads(text):
        if entry.get("name") != stanza:
            continue
        return [
            BackupInfo(
                label=b["label"], type=b["type"], started=when(b["timestamp"]["start"]),
                stopped=when(b["timestamp"]["stop"]), size=b["info"]["size"],
                repo_size=b["info"]["repository"].get("delta", b["info"]["repository"].get("size", 0)),
                wal_start=(b.get("archive") or {}).get("start") or "", wal_stop=(b.get("archive") or {}).get("stop") or "",
            )
            for b in entry.get("backup", [])
        ]
    return []


def recovery_target(to: datetime) -> str:
    """A recovery_target_time PostgreSQL reads unambiguously (UTC, microseconds)."""
    if to.tzinfo is None:
        raise BackupError(f"restore time {to} has no time zone; give one (e.g. 2026-12-06T07:10:00Z)")
    return to.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f+00")


class PgBackRest:
    """The pgbackrest command for one stanza, run as ``os_user`` (None = as we are)."""

    def __init__(self, settings: BackupSettings, config_file: Path, os_user: str | None = None) -> None:
        self.settings = settings
        self.config_file = config_file
        self.os_user = os_user

    @staticmethod
    def installed() -> bool:
        return shutil.which("pgbackrest") is not None

    def write_config(self, cluster: Cluster) -> None:
        """The config, and the directories it names, owned by the OS user that runs pgBackRest (mode 600:
        it holds the S3 secret and the cipher passphrase)."""
        home = self.config_file.parent
        for path in (home, home / "log", home / "lock", home / "spool"):
            path.mkdir(parents=True, exist_ok=True)
            self._own(path)
        self.config_file.write_text(render_config(self.settings, cluster, home))
        self.config_file.chmod(0o600)
        self._own(self.config_file)

    def _own(self, path: Path) -> None:
        if self.os_user and os.geteuid() == 0:
            shutil.chown(path, self.os_user, self.os_user)

    def run(self, *args: str, timeout_s: float = COMMAND_TIMEOUT_S) -> str:
        if not self.installed():
            raise BackupError("pgbackrest is not installed: `gamemetrics stack install` (Debian package pgbackrest)")
        cmd = ["pgbackrest", f"--config={self.config_file}", f"--stanza={self.settings.stanza}", *args]
        if self.os_user and os.geteuid() == 0:
            cmd = ["runuser", "-u", self.os_user, "--", *cmd]
        try:
            result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, cwd="/")
        except subprocess.TimeoutExpired as exc:
            raise BackupError(f"pgbackrest {args[-1] if args else ''} took over {timeout_s:.0f}s") from exc
        if result.returncode != 0:
            message = (result.stderr.strip() or result.stdout.strip()).splitlines()
            raise BackupError(f"pgbackrest {' '.join(a for a in args if not a.startswith('--'))} failed"
                              f" (exit {result.returncode}): {' | '.join(message[-5:])}")
        return result.stdout

    def stanza_create(self) -> None:
        self.run("stanza-create")

    def check(self) -> None:
        """The repository is reachable and a WAL switch reaches it (forces one, waits for it)."""
        self.run("check")

    def backup(self, kind: str = "incr") -> BackupInfo:
        if kind not in BACKUP_TYPES:
            raise BackupError(f"backup type {kind!r}: one of {', '.join(BACKUP_TYPES)}")
        self.run("backup", f"--type={kind}")  # an incr or diff with no full before it is taken as a full
        return self.info()[-1]

    def info(self) -> list[BackupInfo]:
        return parse_info(self.run("info", "--output=json"), self.settings.stanza)

    def expire(self) -> None:
        """Drop what the retention no longer keeps (backup runs it too, after each backup)."""
        self.run("expire")

    def restore(self, target_data: Path, to: datetime | None = None, delta: bool = False) -> None:
        """Restore into ``target_data`` (empty, or ``delta``: an old copy to bring up to date), to the time
        ``to`` (None = the end of the archived WAL). The restored cluster is promoted at the target and
        does not archive (``--archive-mode=off``): a copy never pushes into the repository it came from."""
        args = ["restore", f"--pg1-path={target_data}", "--archive-mode=off"]
        if to is not None:
            args += ["--type=time", f"--target={recovery_target(to)}", "--target-action=promote"]
        if delta:
            args.append("--delta")
        self.run(*args)
