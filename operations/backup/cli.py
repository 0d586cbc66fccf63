"""``gamemetrics backup run|list|check|restore|rewind-landing``: pgBackRest for the local stack's
PostgreSQL (``stack up --backup``), or for any cluster given its pgBackRest config (``--config``, e.g.
the one the Helm chart mounts into its backup CronJob)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from gamemetrics.commands import OutputOption, command_settings, emit, fail, say
from gamemetrics.errors import GameMetricsError

app = typer.Typer(help="Backups and point-in-time restore of PostgreSQL (pgBackRest, to S3).", no_args_is_help=True)

CONFIG_OPTION = typer.Option("--config", help="A pgbackrest.conf; default: the local stack's (stack up --backup).")


def _tool(config: Path | None):
    from operations.backup.pgbackrest import PgBackRest
    from operations.backup.settings import BackupSettings
    from operations.stack.local import LocalStack
    from operations.stack.postgres import OS_USER, _as_root

    user = OS_USER if _as_root() else None
    if config is not None:
        return PgBackRest(BackupSettings(), config, os_user=user), None
    stack = LocalStack(command_settings())
    path = stack.postgres.data.parent / "pgbackrest" / "pgbackrest.conf"
    if not stack.backup or not path.exists():
        raise typer.BadParameter("the local stack is not backed up: `gamemetrics stack up --backup` (or give --config)")
    return PgBackRest(BackupSettings(), path, os_user=user), stack


def _when(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r} is not an ISO time (e.g. 2026-12-06T07:10:00Z)") from exc
    if value.tzinfo is None:
        raise typer.BadParameter(f"{text!r} has no time zone; add Z or +00:00")
    return value


@app.command("run")
def run(
    kind: Annotated[str, typer.Option("--type", help="full, diff or incr (an incr with no full before is a full).")] = "incr",
    config: Annotated[Path | None, CONFIG_OPTION] = None,
) -> None:
    """Take a backup now; pgBackRest then expires what the retention no longer keeps."""
    try:
        tool, _ = _tool(config)
        info = tool.backup(kind)
    except GameMetricsError as exc:
        fail(exc)
    typer.echo(f"{info.label} {info.type}: {info.size / 1e6:.1f} MB database, {info.repo_size / 1e6:.1f} MB stored,"
               f" {(info.stopped - info.started).total_seconds():.0f}s")


@app.command("list")
def list_backups(config: Annotated[Path | None, CONFIG_OPTION] = None, output: OutputOption = None) -> None:
    """The backups in the repository, oldest first: label, type, start, stop, sizes, WAL range."""
    try:
        tool, _ = _tool(config)
        backups = tool.info()
    except GameMetricsError as exc:
        fail(exc)
    if not backups:
        say("no backups yet: `gamemetrics backup run --type full`")
        return
    emit(({"label": b.label, "type": b.type, "started": b.started, "stopped": b.stopped, "size_mb": round(b.size / 1e6, 1),
           "stored_mb": round(b.repo_size / 1e6, 1), "wal_start": b.wal_start, "wal_stop": b.wal_stop} for b in backups),
         output)


@app.command("check")
def check(config: Annotated[Path | None, CONFIG_OPTION] = None) -> None:
    """The repository is reachable and WAL archiving works (forces a WAL switch and waits for it)."""
    try:
        tool, _ = _tool(config)
        tool.check()
    except GameMetricsError as exc:
        fail(exc)
    typer.echo("backup repository reachable; WAL archiving works")


@app.command("restore")
def restore(
    to: Annotated[str, typer.Option("--to", help="Recover up to this time (ISO, with zone); default: all archived WAL.")] = "",
    port: Annotated[int, typer.Option(help="Port of the restored cluster (a NEW cluster beside the running one).")] = 15434,
    into: Annotated[Path | None, typer.Option("--into", help="Directory of the new cluster (default: <state>/restores/<time>).")] = None,
) -> None:
    """Restore the local stack's backups into a NEW PostgreSQL cluster (fresh data directory, its own port),
    recovered to --to and promoted; prints its URL. The running cluster is not touched: check the copy
    (`GAMEMETRICS_DATABASE_URL=<url> gamemetrics verify`), then switch to it (docs/operations/disaster-recovery.md)."""
    from operations.backup.local import restore_to_new_cluster

    try:
        tool, stack = _tool(None)
        target = _when(to) if to else None
        root = into or stack.paths.root / "restores" / datetime.utcnow().strftime("%Y%m%dT%H%M%S")
        restored = restore_to_new_cluster(tool, root, port, target)
    except GameMetricsError as exc:
        fail(exc)
    say(f"restored into {restored.data} (stop it with pg_ctl stop -D {restored.data})")
    typer.echo(restored.url)


@app.command("rewind-landing")
def rewind(
    to: Annotated[str, typer.Option("--to", help="The restore's target time (ISO, with zone).")],
    margin_min: Annotated[float, typer.Option(help="Minutes before --to to start from (in-flight events).")] = 5.0,
) -> None:
    """Move the landing consumer group back to --to minus the margin, so the next workers land again what
    Kafka still holds since (dedup keeps it exact). Stop the workers first."""
    from operations.backup.replay import rewind_landing

    try:
        offsets = rewind_landing(command_settings(), _when(to), timedelta(minutes=margin_min))
    except GameMetricsError as exc:
        fail(exc)
    for partition, offset in sorted(offsets.items()):
        typer.echo(f"partition {partition}: offset {offset}")
