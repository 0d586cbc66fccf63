"""The ``gamemetrics`` command: the operations' own sub-commands (the local stack, the load generator,
the benchmarks, the demo), and the stages' commands mounted where a user looks for them. Each stage
owns its commands (``store/cli.py``, ``ingest/cli.py``, ``processors/cli.py``, ...); this file only
mounts them.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from gamemetrics.commands import (
    OutputOption, apply_conventions, command_settings, duration_option, emit, fail, progress_enabled, say, version_text,
)
from gamemetrics.errors import GameMetricsError
from operations.backup.cli import app as backup_app
from graphql_api.cli import serve_graphql, tokens_app
from ingest.cli import serve_ingest
from processors.cli import dlq_app, worker
from processors.notifications.cli import app as notifications_app
from retention.cli import archive_app, audit_app, gdpr_app, retention_app
from recommender.cli import app as recommender_app
from recommender.cli import serve_recommender
from store.cli import currencies_app, games_app, migrate, verify

app = typer.Typer(
    help="GameMetrics: event-streaming analytics for games.", no_args_is_help=True, pretty_exceptions_enable=False
)
stack_app = typer.Typer(help="The embedded local stack: Kafka, PostgreSQL, Redis and an S3 server on 127.0.0.1.", no_args_is_help=True)
serve_app = typer.Typer(help="Run an HTTP service.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks (they print numbers; see bench/RESULTS.md).", no_args_is_help=True)



def _print_version(value: bool) -> None:
    if value:
        typer.echo(version_text())
        raise typer.Exit()


@app.callback()
def gamemetrics_command(
    version: Annotated[
        bool, typer.Option("--version", help="Print the version and exit.", callback=_print_version, is_eager=True)
    ] = False,
) -> None:
    """GameMetrics: event-streaming analytics for games. Every command takes --quiet; list and show
    commands take --output table|json; exit status 0 = ok, 1 = failed, 2 = usage error."""


app.add_typer(stack_app, name="stack")
app.add_typer(games_app, name="games")
app.add_typer(serve_app, name="serve")
serve_app.command("ingest")(serve_ingest)
serve_app.command("graphql")(serve_graphql)
serve_app.command("recommender")(serve_recommender)
app.command("worker")(worker)
app.add_typer(dlq_app, name="dlq")
app.add_typer(currencies_app, name="currencies")
app.command("verify")(verify)
app.command("migrate")(migrate)
app.add_typer(notifications_app, name="notifications", help="Notifications (email, webhook, push, SMS): the agents' worker and the rules.")
app.add_typer(tokens_app, name="tokens", help="JWT bearer tokens of the GraphQL API.")
app.add_typer(recommender_app, name="recommender")
app.add_typer(bench_app, name="bench")
app.add_typer(retention_app, name="retention")
app.add_typer(archive_app, name="archive")
app.add_typer(gdpr_app, name="gdpr")
app.add_typer(audit_app, name="audit")
app.add_typer(backup_app, name="backup")


@stack_app.command("install")
def stack_install(
    s3: Annotated[
        bool | None,
        typer.Option(
            "--s3/--no-s3",
            help="--s3: only the S3 server (versitygw, built with go install: about 10 minutes the first time);"
            " --no-s3: everything but it (what the demo needs). Default: both.",
        ),
    ] = None,
) -> None:
    """Install what the stack needs (idempotent): PostgreSQL and Redis with apt-get, Kafka jars with mvn, the S3
    server (versitygw) with go install, TimescaleDB from its bundle when GAMEMETRICS_STACK_TIMESCALEDB_BUNDLE
    (default: the nearest shared/timescaledb above the repository) has one."""
    from operations.stack.local import LocalStack
    from operations.stack.settings import StackSettings

    try:
        stack = LocalStack(command_settings(), say)
        if s3 is True:
            stack.install_s3()
        else:
            stack.install(StackSettings(), s3=s3 is None)
    except GameMetricsError as exc:
        fail(exc)


SECURE_OPTION = typer.Option(
    "--secure", help="The secured broker: SASL_SSL + SCRAM-SHA-512, a local CA, one user per service with its ACLs."
)


BACKUP_OPTION = typer.Option(
    "--backup", help="PostgreSQL archives its WAL to pgBackRest (S3 bucket gamemetrics-backup, encrypted); remembered."
)


REPLICA_OPTION = typer.Option(
    "--replica", help="A streaming replica of PostgreSQL on port 15433 (GAMEMETRICS_DATABASE_READ_URL); remembered."
)


@stack_app.command("up")
def stack_up(secure: Annotated[bool, SECURE_OPTION] = False, backup: Annotated[bool, BACKUP_OPTION] = False,
             replica: Annotated[bool, REPLICA_OPTION] = False) -> None:
    """Start Kafka (KRaft), PostgreSQL and Redis, create the topics, run the migrations (idempotent).

    Services named by GAMEMETRICS_KAFKA_BOOTSTRAP_SERVERS, GAMEMETRICS_DATABASE_URL or
    GAMEMETRICS_REDIS_URL are used as they are instead of starting local ones. The local PostgreSQL
    preloads TimescaleDB when it is installed; GAMEMETRICS_STORE_BACKEND=auto|native|timescaledb chooses.
    With --secure the broker (same port, its own data under kafka-secure/) takes SASL_SSL clients only;
    each service's credentials are written to kafka-secure/secure/<service>.env and the admin's are printed.
    """
    from operations.stack.local import LocalStack
    from store.settings import StoreSettings

    try:
        env = LocalStack(command_settings(), say, StoreSettings(), secure=secure, backup=backup, replica=replica).up()
    except GameMetricsError as exc:
        fail(exc)
    say("stack is up; use it from another shell with:")
    for key, value in env.items():
        typer.echo(f"export {key}={value}")


@stack_app.command("status")
def stack_status(output: OutputOption = None) -> None:
    """Show each service: running or not, where, and whether it is ours or external."""
    from operations.stack.local import LocalStack

    emit(
        (
            {"service": service.name, "state": "running" if service.running else "stopped",
             "owner": "external" if service.external else "local", "address": service.address, "detail": service.detail}
            for service in LocalStack(command_settings()).status()
        ),
        output,
    )


@stack_app.command("down")
def stack_down(
    purge: Annotated[bool, typer.Option("--purge", help="Also delete the services' data.")] = False,
    secure: Annotated[bool, SECURE_OPTION] = False,
) -> None:
    """Stop the local services cleanly; their data is kept unless --purge."""
    from operations.stack.local import LocalStack

    try:
        LocalStack(command_settings(), say, secure=secure).down(purge=purge)
    except GameMetricsError as exc:
        fail(exc)


@app.command("loadgen")
def loadgen(
    url: Annotated[str, typer.Option(help="Base URL of the ingest service.")] = "http://127.0.0.1:8080",
    api_key: Annotated[list[str], typer.Option(help="A game's API key; repeat for several games.")] = [],  # noqa: B006
    game_count: Annotated[int, typer.Option("--game-count", help="Games to load; missing keys are created in the local store.")] = 0,
    rate: Annotated[float, typer.Option(help="Target events per second.")] = 2000.0,
    duration: Annotated[timedelta, duration_option("--duration", help="How long to run.")] = "30s",  # type: ignore[assignment]
    players: Annotated[int, typer.Option(help="Simulated players per game.")] = 1000,
    batch_size: Annotated[str, typer.Option(help="Events per request: N, A-B (uniform) or exp:MEAN.")] = "20",
    concurrency: Annotated[int, typer.Option(help="Requests in flight at most.")] = 32,
    seed: Annotated[int, typer.Option(help="Random seed of the simulation.")] = 0,
) -> None:
    """Post simulated player sessions to an ingest service at a target rate; retries reuse event ids."""
    import asyncio

    from operations.loadgen import BatchSizes, LoadPlan, run_load

    try:
        sizes = BatchSizes.parse(batch_size)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    keys = list(api_key)
    if game_count > len(keys):
        from store import db
        from store.games import create_game

        with db.connect(command_settings()) as conn:
            for _ in range(game_count - len(keys)):
                created = create_game(conn, f"loadgen-{seed}-{len(keys)}-{secrets.token_hex(2)}")
                say(f"created game {created.game_id} (key {created.api_key})")
                keys.append(created.api_key)
    if not keys:
        raise typer.BadParameter("give --api-key (repeatable) or --game-count N to create games in the local store")
    plan = LoadPlan(url, tuple(keys), rate, duration.total_seconds(), players, sizes, concurrency, seed=seed)
    report = asyncio.run(run_load(plan, progress=progress_enabled()))
    typer.echo(report.summary())
    if report.failed_events:
        raise typer.Exit(1)


BENCH_DIR = Path(__file__).resolve().parents[1] / "bench"


def _run_bench(name: str, ctx: typer.Context) -> None:
    """Run ``python -m bench.<name>`` from the source checkout with the options given after the command."""
    if not (BENCH_DIR / f"{name}.py").exists():
        raise typer.BadParameter(f"{BENCH_DIR / name}.py not found: the benchmarks run from a source checkout")
    args = ["--help" if a == "--help-bench" else a for a in ctx.args]
    raise typer.Exit(subprocess.call([sys.executable, "-m", f"bench.{name}", *args], cwd=BENCH_DIR.parent))


@bench_app.command("e2e", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def bench_e2e(ctx: typer.Context) -> None:
    """End-to-end benchmark (bench/e2e.py); options are passed through, see `gamemetrics bench e2e --help-bench`."""
    _run_bench("e2e", ctx)


@bench_app.command("faults", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def bench_faults(ctx: typer.Context) -> None:
    """Fault drill on a stack of its own (bench/faults.py): kill -9 a worker, restart Kafka and PostgreSQL,
    stop Redis, freeze Kafka; fails on any loss or duplicate. Options: `gamemetrics bench faults --help-bench`."""
    _run_bench("faults", ctx)


@bench_app.command("recommender", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def bench_recommender(ctx: typer.Context) -> None:
    """Recommender benchmark and offline evaluation (bench/recommender.py); see `gamemetrics bench recommender --help-bench`."""
    _run_bench("recommender", ctx)


@app.command("demo")
def demo(
    duration: Annotated[timedelta, duration_option("--duration", help="How long the demo load runs.")] = "60s",  # type: ignore[assignment]
    rate: Annotated[float, typer.Option(help="Demo load, events per second.")] = 2000.0,
    port: Annotated[int, typer.Option(help="Port of the ingest service.")] = 8080,
    api_port: Annotated[int, typer.Option(help="Port of the GraphQL API and dashboard.")] = 8090,
) -> None:
    """Bring up the stack, start ingest, a worker and the analytics API in the background, run a demo
    load, show what landed and where the dashboard is."""
    import asyncio
    from datetime import datetime, timezone

    from operations.demo import demo_game, demo_token, landed_summary, wait_for_ingest, wait_for_landing
    from operations.loadgen import LoadPlan, run_load
    from operations.stack.local import LocalStack
    from operations.stack.services import ProjectServices, Service

    settings = command_settings()
    stack = LocalStack(settings, say)
    try:
        stack.up()
        services = ProjectServices(stack.paths.run)
        for service in (
            Service("ingest", ("serve", "ingest", "--port", str(port))),
            Service("worker", ("worker",)),
            Service("graphql", ("serve", "graphql", "--port", str(api_port))),
        ):
            started = services.start(service)
            say(f"{service.name}: {'started' if started else 'already running'} (log {services.log_file(service.name)})")
        url = f"http://127.0.0.1:{port}"
        wait_for_ingest(url)
        game = demo_game(settings, stack.paths.run)
        say(f"demo game {game['game_id']}: {rate:.0f} events/s for {duration.total_seconds():.0f}s")
        started = datetime.now(timezone.utc)
        report = asyncio.run(run_load(LoadPlan(url, (game["api_key"],), rate, duration.total_seconds()),
                                      progress=progress_enabled()))
        say(report.summary())
        landed = wait_for_landing(settings, game["game_id"], started, report.accepted)
        say(f"landed {landed} of the {report.accepted} accepted events of this run")
        typer.echo(landed_summary(settings, game["game_id"]))
        token = demo_token(game["game_id"])
    except GameMetricsError as exc:
        fail(exc)
    typer.echo(
        f"""
What to look at:
  rows landed:     psql {settings.database_url} -c "SELECT event_type, count(*) FROM {settings.database_schema}.player_events GROUP BY 1"
  ingest metrics:  curl {url}/metrics      API docs: {url}/docs
  dashboard:       http://127.0.0.1:{api_port}/dashboard   (sign in with this token, valid 24 h:)
                   {token}
  GraphQL:         http://127.0.0.1:{api_port}/graphql      (same token as `Authorization: Bearer ...`)
  logs:            {stack.paths.run}/ingest.log  {stack.paths.run}/worker.log  {stack.paths.run}/graphql.log
  more load:       gamemetrics loadgen --url {url} --api-key {game['api_key']} --rate 5000 --duration 60s
Stop everything:   gamemetrics stack down        (add --purge to delete the data)"""
    )


# Last, after every command is defined and mounted: --quiet on each of them (gamemetrics/commands.py).
apply_conventions(app)
