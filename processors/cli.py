"""Commands of the landing stage, mounted by ``operations.cli``:

    gamemetrics worker                 a landing worker (Faust); start several to share partitions
                                       (--no-notifications: without the notification agents)
    gamemetrics dlq inspect|replay     the dead-letter queue (system.dlq)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from gamemetrics.commands import Output, OutputOption, command_settings, emit, fail, resolved_output, say
from gamemetrics.errors import GameMetricsError

if TYPE_CHECKING:
    import faust

    from processors.settings import WorkerSettings

dlq_app = typer.Typer(help="Inspect and replay the dead-letter queue (system.dlq).", no_args_is_help=True)


def worker(
    loglevel: Annotated[str, typer.Option(help="Faust log level.")] = "warning",
    no_notifications: Annotated[bool, typer.Option(
        "--no-notifications", help="Landing only: the notification agents run in `gamemetrics notifications worker`."
    )] = False,
) -> None:
    """Run a landing worker (Faust): player.events.raw -> PostgreSQL. Start several to share partitions.

    Settings: GAMEMETRICS_WORKER_* (batching, retry, metrics port; see processors/settings.py), GAMEMETRICS_NOTIFY_*
    (unless --no-notifications); tracing: OTEL_TRACES_EXPORTER (README, Tracing).
    """
    from gamemetrics.runtime import use_uvloop
    from gamemetrics.settings import load_tracing_settings
    from gamemetrics.tracing import configure_tracing
    from processors.notifications.settings import load_notification_settings
    from processors.settings import WorkerSettings
    from processors.worker import build_worker_app
    from store import db
    from store.partitions import ensure_partitions

    settings = command_settings()
    worker_settings = WorkerSettings()
    notify_settings = None if no_notifications else load_notification_settings()
    try:
        tracing = configure_tracing("gamemetrics-worker", load_tracing_settings())
        with db.connect(settings, autocommit=True) as conn:
            ensure_partitions(conn)
    except GameMetricsError as exc:
        fail(exc)
    serve_metrics(worker_settings)
    use_uvloop()
    run_faust(build_worker_app(settings, worker_settings, notify_settings, tracing), loglevel)


def serve_metrics(worker_settings: WorkerSettings) -> None:
    """Prometheus /metrics of a Faust process on GAMEMETRICS_WORKER_METRICS_PORT (0 = none)."""
    from prometheus_client import start_http_server

    if worker_settings.metrics_port:
        try:
            start_http_server(worker_settings.metrics_port, addr=worker_settings.metrics_host)
        except OSError as exc:  # another worker on this machine has the port
            say(f"metrics port {worker_settings.metrics_port} unavailable ({exc}); this worker exposes no /metrics")


def run_faust(app: faust.App, loglevel: str) -> None:
    """Run a built Faust app in the foreground until it is stopped (SIGTERM, SIGINT) or crashes."""
    import faust

    from gamemetrics.runtime import tune_gc

    tune_gc()
    faust.Worker(app, loglevel=loglevel, quiet=True, override_logging=False).execute_from_commandline()


@dlq_app.command("inspect")
def dlq_inspect(
    error_type: Annotated[str, typer.Option("--type", help="Only this error type.")] = "",
    limit: Annotated[int, typer.Option(help="How many records to show (newest last).")] = 20,
    output: OutputOption = None,
) -> None:
    """Summarise the dead letters by error type (on stderr) and show the latest ones: a table, or with
    --output json (the default when piped) every field of each record, the original bytes in hex."""
    from processors.dlq_admin import read_dead_letters, summary

    records = [r for r in read_dead_letters(command_settings()) if not error_type or r.record["error_type"] == error_type]
    counts = summary(records)
    say(f"{len(records)} dead letters" + "".join(f"\n  {t:<20} {n}" for t, n in counts.most_common()))
    if resolved_output(output) is Output.json:
        emit((dict(r.record, original=r.record["original"].hex(), source_key=(r.record["source_key"] or b"").hex(),
                   dlq_offset=r.offset) for r in records[-limit:]), output)
        return
    emit(({"failed_at": r.record["failed_at"], "error_type": r.record["error_type"],
           "source": f"{r.record['source_topic']}/{r.record['source_partition']}@{r.record['source_offset']}",
           "event_id": r.record["event_id"], "detail": r.record["detail"][:200]} for r in records[-limit:]), output)


@dlq_app.command("replay")
def dlq_replay(
    error_type: Annotated[str, typer.Option("--type", help="Replay only this error type (required unless --event-id).")] = "",
    event_id: Annotated[str, typer.Option(help="Replay only the record of this event.")] = "",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be replayed.")] = False,
) -> None:
    """Re-submit dead letters' original messages to their source topic, once the cause is fixed."""
    from processors.dlq_admin import read_dead_letters, replay

    if not error_type and not event_id:
        raise typer.BadParameter("name what to replay with --type or --event-id")
    settings = command_settings()
    chosen = [
        r for r in read_dead_letters(settings)
        if (not error_type or r.record["error_type"] == error_type) and (not event_id or r.record["event_id"] == event_id)
    ]
    if dry_run:
        typer.echo(f"would replay {len(chosen)} dead letters")
        return
    try:
        n = replay(settings, chosen)
    except GameMetricsError as exc:
        fail(exc)
    typer.echo(f"replayed {n} messages to their source topics")
