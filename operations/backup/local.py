"""pgBackRest wired to a PostgreSQL cluster run by ``operations.stack.postgres.LocalPostgres``: the
local stack's (``stack up --backup``) or a drill's; and a restore into a new cluster of its own.

Beside the cluster's data directory: ``pgbackrest/`` (config, logs, locks, the S3 CA) and
``socket/`` (the Unix socket pgBackRest connects through), both owned by the cluster's OS user.
"""

from __future__ import annotations

import shutil
import time
from datetime import datetime
from pathlib import Path

from operations.backup.pgbackrest import Cluster, PgBackRest, archiving_conf
from operations.backup.settings import BackupSettings
from operations.errors import BackupError
from operations.stack.postgres import OS_USER, SUPERUSER, LocalPostgres, _as_root

PROMOTE_TIMEOUT_S = 300.0


def _own(path: Path) -> None:
    if _as_root():
        shutil.chown(path, OS_USER, OS_USER)


def backed_up(postgres: LocalPostgres, settings: BackupSettings) -> PgBackRest:
    """Make ``postgres`` archive its WAL to pgBackRest from its next start (its include file), write
    pgBackRest's config for it; returns the tool. The cluster's first start must come after this."""
    base = postgres.data.parent
    home, sockets = base / "pgbackrest", base / "socket"
    for path in (base, home, sockets):
        path.mkdir(parents=True, exist_ok=True)
        _own(path)
    if settings.s3_ca_file is not None:  # where the cluster's OS user can read it
        ca = home / "s3-ca.pem"
        shutil.copyfile(settings.s3_ca_file, ca)
        _own(ca)
        settings = settings.model_copy(update={"s3_ca_file": ca})
    tool = PgBackRest(settings, home / "pgbackrest.conf", os_user=OS_USER if _as_root() else None)
    tool.write_config(Cluster(postgres.data, postgres.port, sockets, SUPERUSER))
    postgres.extra_conf = archiving_conf(tool.config_file, settings, sockets)
    return tool


def restore_to_new_cluster(tool: PgBackRest, root: Path, port: int, to: datetime | None,
                           bin_dir: Path | None = None, preload: tuple[str, ...] | None = None) -> LocalPostgres:
    """Restore the stanza into a fresh cluster under ``root`` listening on ``port``, to the time ``to``;
    start it and wait until it has replayed up to the target and been promoted. Returns it, running."""
    import psycopg

    restored = LocalPostgres(root, port=port, bin_dir=bin_dir, preload=preload)
    if (restored.data / "PG_VERSION").exists():
        raise BackupError(f"{restored.data} already holds a cluster: restore into a new directory")
    data = restored.data
    root.mkdir(parents=True, exist_ok=True)
    data.parent.mkdir(parents=True, exist_ok=True)
    data.mkdir(mode=0o700, exist_ok=True)
    _own(data.parent)
    _own(data)
    tool.restore(data, to)
    restored.note.write_text(str(data) + "\n")
    restored.start()  # writes its own port (and no archiving) into the include file first
    deadline = time.monotonic() + PROMOTE_TIMEOUT_S
    admin = f"postgresql://{SUPERUSER}@127.0.0.1:{port}/postgres"
    while True:
        try:
            with psycopg.connect(admin, connect_timeout=2) as conn:
                if not conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
                    return restored
        except psycopg.OperationalError:
            pass
        if time.monotonic() > deadline:
            raise BackupError(f"the restored cluster did not finish recovery in {PROMOTE_TIMEOUT_S:.0f}s; see {restored.log}")
        time.sleep(0.5)

