"""The ``gamemetrics`` command: one entry point, a sub-command per job, ``--help`` on each."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from gamemetrics.errors import GameMetricsError
from gamemetrics.runtime import tune_gc, use_uvloop
from gamemetrics.settings import Settings, load_settings

app = typer.Typer(
    help="GameMetrics: event-streaming analytics for games.", no_args_is_help=True, pretty_exceptions_enable=False
)
stack_app = typer.Typer(help="The embedded local stack: Kafka, PostgreSQL and Redis on 127.0.0.1.", no_args_is_help=True)
games_app = typer.Typer(help="Games and their API keys.", no_args_is_help=True)
serve_app = typer.Typer(help="Run an HTTP service.", no_args_is_help=True)
dlq_app = typer.Typer(help="Inspect and replay the dead-letter queue (system.dlq).", no_args_is_help=True)
currencies_app = typer.Typer(help="The currency table revenue is converted with.", no_args_is_help=True)
app.add_typer(stack_app, name="stack")
app.add_typer(games_app, name="games")
app.add_typer(serve_app, name="serve")
app.add_typer(dlq_app, name="dlq")
app.add_typer(currencies_app, name="currencies")


def _mount_stage_commands() -> None:
    """Sub-commands owned by stage packages (kept there next to what they drive)."""
    from graphql_api.cli import serve_graphql, tokens_app
    from processors.notifications.cli import app as notifications_app

    app.add_typer(notifications_app, name="notifications", help="Notification rules (email, webhook, push, SMS).")
    serve_app.command("graphql")(serve_graphql)
    app.add_typer(tokens_app, name="tokens", help="JWT bearer tokens of the GraphQL API.")


_mount_stage_commands()


def _settings() -> Settings:
    from gamemetrics.logs import configure_logging

    settings = load_settings()
    configure_logging(settings)
    return settings


def _say(message: str) -> None:
    typer.echo(message, err=True)


def _fail(exc: GameMetricsError) -> None:
    typer.secho(f"error: {exc}", fg="red", err=True)
    raise typer.Exit(1)


@stack_app.command("install")
def stack_install() -> None:
    """Install what the stack needs (idempotent): PostgreSQL and Redis with apt-get, Kafka jars with mvn."""
    from gamemetrics.stack.local import LocalStack

    try:
        LocalStack(_settings(), _say).install()
    except GameMetricsError as exc:
        _fail(exc)


@stack_app.command("up")
def stack_up() -> None:
    """Start Kafka (KRaft), PostgreSQL and Redis, create the topics, run the migrations (idempotent).

    Services named by GAMEMETRICS_KAFKA_BOOTSTRAP_SERVERS, GAMEMETRICS_DATABASE_URL or
    GAMEMETRICS_REDIS_URL are used as they are instead of starting local ones.
    """
    from gamemetrics.stack.local import LocalStack

    try:
        env = LocalStack(_settings(), _say).up()
    except GameMetricsError as exc:
        _fail(exc)
    _say("stack is up; use it from another shell with:")
    for key, value in env.items():
        typer.echo(f"export {key}={value}")


@stack_app.command("status")
def stack_status() -> None:
    """Show each service: running or not, where, and whether it is ours or external."""
    from gamemetrics.stack.local import LocalStack

    for service in LocalStack(_settings()).status():
        state = "running" if service.running else "stopped"
        owner = "external" if service.external else "local"
        typer.echo(f"{service.name:<11} {state:<8} {owner:<9} {service.address}  {service.detail}".rstrip())


@stack_app.command("down")
def stack_down(
    purge: Annotated[bool, typer.Option("--purge", help="Also delete the services' data.")] = False,
) -> None:
    """Stop the local services cleanly; their data is kept unless --purge."""
    from gamemetrics.stack.local import LocalStack

    try:
        LocalStack(_settings(), _say).down(purge=purge)
    except GameMetricsError as exc:
        _fail(exc)


@games_app.command("create")
def games_create(name: Annotated[str, typer.Argument(help="Display name of the game.")]) -> None:
    """Create a game; prints {"game_id": ..., "api_key": ...}. The key is shown only once."""
    from gamemetrics.store import db
    from gamemetrics.store.games import create_game

    try:
        with db.connect(_settings()) as conn:
            game = create_game(conn, name)
    except GameMetricsError as exc:
        _fail(exc)
    typer.echo(json.dumps({"game_id": game.game_id, "api_key": game.api_key}))


@games_app.command("rotate-key")
def games_rotate_key(
    game_id: Annotated[str, typer.Argument(help="The game whose key to rotate.")],
    grace: Annotated[float, typer.Option(help="Hours the current keys stay valid.")] = 24.0,
) -> None:
    """Issue a new API key; the current ones keep working for --grace hours. Prints the new key as JSON."""
    from datetime import timedelta

    from gamemetrics.store import db
    from gamemetrics.store.games import rotate_key

    try:
        with db.connect(_settings()) as conn:
            api_key = rotate_key(conn, game_id, timedelta(hours=grace))
    except GameMetricsError as exc:
        _fail(exc)
    typer.echo(json.dumps({"game_id": game_id, "api_key": api_key, "previous_keys_expire_in_hours": grace}))


@games_app.command("list")
def games_list() -> None:
    """List the games: id, name, creation time and how many keys are valid."""
    from gamemetrics.store import db
    from gamemetrics.store.games import list_games

    with db.connect(_settings()) as conn:
        for game_id, name, created_at, keys in list_games(conn):
            typer.echo(f"{game_id:<32} {name:<32} {created_at:%Y-%m-%d %H:%M} keys={keys}")


@serve_app.command("ingest")
def serve_ingest(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8080,
    workers: Annotated[int, typer.Option(help="Number of server processes.")] = 1,
) -> None:
    """Run the ingest HTTP service (POST /v1/events)."""
    import uvicorn

    _settings()
    uvicorn.run(
        "ingest.main:build", factory=True, host=host, port=port, workers=workers, log_level="warning",
        access_log=False, proxy_headers=True,
    )


@app.command("worker")
def worker(
    loglevel: Annotated[str, typer.Option(help="Faust log level.")] = "warning",
) -> None:
    """Run a landing worker (Faust): player.events.raw -> PostgreSQL. Start several to share partitions.

    Settings: GAMEMETRICS_WORKER_* (batching, retry, metrics port; see processors/settings.py).
    """
    import faust
    from prometheus_client import start_http_server

    from gamemetrics.store import db
    from gamemetrics.store.partitions import ensure_partitions
    from processors.pipeline import build_worker_app
    from processors.settings import WorkerSettings

    settings = _settings()
    worker_settings = WorkerSettings()
    try:
        with db.connect(settings, autocommit=True) as conn:
            ensure_partitions(conn)
    except GameMetricsError as exc:
        _fail(exc)
    if worker_settings.metrics_port:
        try:
            start_http_server(worker_settings.metrics_port, addr="127.0.0.1")
        except OSError as exc:  # another worker on this machine has the port
            _say(f"metrics port {worker_settings.metrics_port} unavailable ({exc}); this worker exposes no /metrics")
    use_uvloop()
    faust_app = build_worker_app(settings, worker_settings)
    tune_gc()
    faust.Worker(faust_app, loglevel=loglevel, quiet=True, override_logging=False).execute_from_commandline()


@dlq_app.command("inspect")
def dlq_inspect(
    error_type: Annotated[str, typer.Option("--type", help="Only this error type.")] = "",
    limit: Annotated[int, typer.Option(help="How many records to show (newest last).")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per record.")] = False,
) -> None:
    """Summarise the dead letters by error type and show the latest ones."""
    from processors.dlq import read_dead_letters, summary

    records = [r for r in read_dead_letters(_settings()) if not error_type or r.record["error_type"] == error_type]
    if as_json:
        for r in records[-limit:]:
            rec = dict(r.record, original=r.record["original"].hex(), source_key=(r.record["source_key"] or b"").hex(),
                       failed_at=r.record["failed_at"].isoformat(), dlq_offset=r.offset)
            typer.echo(json.dumps(rec))
        return
    counts = summary(records)
    typer.echo(f"{len(records)} dead letters" + "".join(f"\n  {t:<20} {n}" for t, n in counts.most_common()))
    for r in records[-limit:]:
        rec = r.record
        typer.echo(
            f"[{rec['failed_at']:%Y-%m-%d %H:%M:%S}] {rec['error_type']:<18} {rec['source_topic']}/{rec['source_partition']}"
            f"@{rec['source_offset']} event={rec['event_id'] or '-'}: {rec['detail'][:200]}"
        )


@dlq_app.command("replay")
def dlq_replay(
    error_type: Annotated[str, typer.Option("--type", help="Replay only this error type (required unless --event-id).")] = "",
    event_id: Annotated[str, typer.Option(help="Replay only the record of this event.")] = "",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be replayed.")] = False,
) -> None:
    """Re-submit dead letters' original messages to their source topic, once the cause is fixed."""
    from processors.dlq import read_dead_letters, replay

    if not error_type and not event_id:
        raise typer.BadParameter("name what to replay with --type or --event-id")
    settings = _settings()
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
        _fail(exc)
    typer.echo(f"replayed {n} messages to their source topics")


@currencies_app.command("set")
def currencies_set(
    code: Annotated[str, typer.Argument(help="ISO 4217 code, e.g. ISK.")],
    usd_per_unit: Annotated[float, typer.Argument(help="Value of one unit in US dollars.")],
) -> None:
    """Add or update a currency's rate (workers re-read the table every GAMEMETRICS_WORKER_RATES_REFRESH_S, 60 s)."""
    from gamemetrics.store import db
    from schemas.event_types import is_currency

    if not is_currency(code) or usd_per_unit <= 0:
        raise typer.BadParameter(f"{code!r} must be an ISO 4217 code and the rate > 0")
    with db.connect(_settings()) as conn:
        conn.execute(
            "INSERT INTO currency_rates (currency, usd_per_unit) VALUES (%s, %s) ON CONFLICT (currency) "
            "DO UPDATE SET usd_per_unit = excluded.usd_per_unit, updated_at = now()",
            (code, usd_per_unit),
        )
        conn.commit()
    typer.echo(f"{code} = {usd_per_unit} USD")


@currencies_app.command("list")
def currencies_list() -> None:
    """Show the currency table."""
    from gamemetrics.store import db

    with db.connect(_settings()) as conn:
        for code, rate, updated in conn.execute("SELECT currency, usd_per_unit, updated_at FROM currency_rates ORDER BY 1"):
            typer.echo(f"{code}  {rate:>16}  {updated:%Y-%m-%d}")


@app.command("verify")
def verify() -> None:
    """Check that every rollup table equals a GROUP BY over player_events (scans the events)."""
    from gamemetrics.store import db
    from gamemetrics.store.verify import rollup_differences

    with db.connect(_settings()) as conn:
        problems = rollup_differences(conn)
    if not problems:
        typer.echo("all rollups match player_events")
        return
    for table, rows in problems.items():
        typer.echo(f"{table}:")
        for row in rows:
            typer.echo(f"  {row}")
    raise typer.Exit(1)


def main() -> None:  # pragma: no cover - console script
    sys.exit(app())


@app.command("loadgen")
def loadgen(
    url: Annotated[str, typer.Option(help="Base URL of the ingest service.")] = "http://127.0.0.1:8080",
    api_key: Annotated[list[str], typer.Option(help="A game's API key; repeat for several games.")] = [],  # noqa: B006
    games: Annotated[int, typer.Option(help="Games to load; missing keys are created in the local store.")] = 0,
    rate: Annotated[float, typer.Option(help="Target events per second.")] = 2000.0,
    duration: Annotated[float, typer.Option(help="Seconds to run.")] = 30.0,
    players: Annotated[int, typer.Option(help="Simulated players per game.")] = 1000,
    batch_size: Annotated[str, typer.Option(help="Events per request: N, A-B (uniform) or exp:MEAN.")] = "20",
    concurrency: Annotated[int, typer.Option(help="Requests in flight at most.")] = 32,
    seed: Annotated[int, typer.Option(help="Random seed of the simulation.")] = 0,
) -> None:
    """Post simulated player sessions to an ingest service at a target rate; retries reuse event ids."""
    import asyncio

    from gamemetrics.loadgen import BatchSizes, LoadPlan, run_load

    try:
        sizes = BatchSizes.parse(batch_size)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    keys = list(api_key)
    if games > len(keys):
        from gamemetrics.store import db
        from gamemetrics.store.games import create_game

        with db.connect(_settings()) as conn:
            for _ in range(games - len(keys)):
                created = create_game(conn, f"loadgen-{seed}-{len(keys)}-{__import__('secrets').token_hex(2)}")
                _say(f"created game {created.game_id} (key {created.api_key})")
                keys.append(created.api_key)
    if not keys:
        raise typer.BadParameter("give --api-key (repeatable) or --games N to create games in the local store")
    plan = LoadPlan(url, tuple(keys), rate, duration, players, sizes, concurrency, seed=seed)
    report = asyncio.run(run_load(plan))
    typer.echo(report.summary())
    if report.failed_events:
        raise typer.Exit(1)


bench_app = typer.Typer(help="Benchmarks (they print numbers; see bench/RESULTS.md).", no_args_is_help=True)
app.add_typer(bench_app, name="bench")


@bench_app.command("e2e", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def bench_e2e(ctx: typer.Context) -> None:
    """End-to-end benchmark (bench/e2e.py); options are passed through, see `gamemetrics bench e2e --help-bench`."""
    import runpy
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "bench" / "e2e.py"
    if not script.exists():
        raise typer.BadParameter(f"{script} not found: run from a source checkout")
    args = ["--help" if a == "--help-bench" else a for a in ctx.args]
    sys.argv = [str(script), *args]
    runpy.run_path(str(script), run_name="__main__")


@app.command("demo")
def demo(
    duration: Annotated[float, typer.Option(help="Seconds of demo load.")] = 60.0,
    rate: Annotated[float, typer.Option(help="Demo load, events per second.")] = 2000.0,
    port: Annotated[int, typer.Option(help="Port of the ingest service.")] = 8080,
    api_port: Annotated[int, typer.Option(help="Port of the GraphQL API and dashboard.")] = 8090,
) -> None:
    """Bring up the stack, start ingest, a worker and the analytics API in the background, run a demo
    load, show what landed and where the dashboard is."""
    import asyncio
    from datetime import datetime, timezone

    from gamemetrics.demo import demo_game, demo_token, landed_summary, wait_for_ingest, wait_for_landing
    from gamemetrics.loadgen import LoadPlan, run_load
    from gamemetrics.stack.local import LocalStack
    from gamemetrics.stack.services import ProjectServices, Service

    settings = _settings()
    stack = LocalStack(settings, _say)
    try:
        stack.up()
        services = ProjectServices(stack.paths.run)
        for service in (
            Service("ingest", ("serve", "ingest", "--port", str(port))),
            Service("worker", ("worker",)),
            Service("graphql", ("serve", "graphql", "--port", str(api_port))),
        ):
            started = services.start(service)
            _say(f"{service.name}: {'started' if started else 'already running'} (log {services.log_file(service.name)})")
        url = f"http://127.0.0.1:{port}"
        wait_for_ingest(url)
        game = demo_game(settings, stack.paths.run)
        _say(f"demo game {game['game_id']}: {rate:.0f} events/s for {duration:.0f}s")
        started = datetime.now(timezone.utc)
        report = asyncio.run(run_load(LoadPlan(url, (game["api_key"],), rate, duration)))
        _say(report.summary())
        landed = wait_for_landing(settings, game["game_id"], started, report.accepted)
        _say(f"landed {landed} of the {report.accepted} accepted events of this run")
        typer.echo(landed_summary(settings, game["game_id"]))
        token = demo_token(game["game_id"])
    except GameMetricsError as exc:
        _fail(exc)
    typer.echo(
        f"""
What to look at:
  rows landed:     psql {settings.database_url} -c "SELECT event_type, count(*) FROM {settings.database_schema}.player_events GROUP BY 1"
  ingest metrics:  curl {url}/metrics      API docs: {url}/docs
  dashboard:       http://127.0.0.1:{api_port}/dashboard   (sign in with this token, valid 24 h:)
                   {token}
  GraphQL:         http://127.0.0.1:{api_port}/graphql      (same token as `Authorization: Bearer ...`)
  logs:            {stack.paths.run}/ingest.log  {stack.paths.run}/worker.log  {stack.paths.run}/graphql.log
  more load:       gamemetrics loadgen --url {url} --api-key {game['api_key']} --rate 5000 --duration 60
Stop everything:   gamemetrics stack down        (add --purge to delete the data)"""
    )
