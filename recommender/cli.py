"""Commands of the recommender, mounted by ``operations.cli``:

    gamemetrics recommender train [--game G]      train and publish models (one game, or every game); cron-able
    gamemetrics recommender worker                the fold-in worker (Faust, own consumer group)
    gamemetrics recommender evaluate --game G     offline evaluation on the game's landed events
    gamemetrics recommender models --game G       the model versions and their metrics
    gamemetrics recommender forget --game G PLAYER   remove a player from every recommender store
    gamemetrics serve recommender                 the recommendations API (serve_recommender)
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from typing import Annotated

import typer

from gamemetrics.commands import (
    OutputOption, command_settings, duration_option, emit, fail, progress_enabled, say, serve_asgi,
)
from gamemetrics.errors import GameMetricsError

app = typer.Typer(help="Recommendations: train models from play history, fold new play in, evaluate, forget.",
                  no_args_is_help=True)


def serve_recommender(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8070,
    workers: Annotated[int, typer.Option(help="Server processes (needs a Qdrant server: local mode is one process).")] = 1,
) -> None:
    """Run the recommendations API: GET /v1/recommendations/{player}, GET /v1/players/{player}/similar.

    Settings: GAMEMETRICS_RECOMMENDER_* (cache TTL, k, ...; see recommender/settings.py); tokens are the
    GraphQL API's (GAMEMETRICS_GRAPHQL_JWT_SECRET). In Qdrant local mode it also folds new play in.
    """
    serve_asgi("recommender.app:build", host, port, workers)


def _games(settings, game: str | None) -> list[str]:
    if game:
        return [game]
    from store import db

    with db.connect(settings) as conn:
        return [row[0] for row in conn.execute("SELECT game_id FROM games ORDER BY game_id")]


@app.command("train")
def train(
    game: Annotated[str | None, typer.Option(help="Train this game only; default: every game.")] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar while vectors are written (on a terminal, without --quiet).")] = True,
) -> None:
    """Train a model per game from its last GAMEMETRICS_RECOMMENDER_WINDOW_DAYS of events and make it live.

    Safe to run from cron: the API and the worker switch to the new model atomically (alias swap).
    With the embedded store and `serve recommender` running, the vectors are written through the
    service's admin API (it owns the store; GAMEMETRICS_RECOMMENDER_SERVICE_URL);
    a game without enough interactions is reported and skipped. Prints one JSON line per game.
    """
    from gamemetrics import metric_defs as m
    from recommender.errors import NotEnoughData
    from recommender.settings import RecommenderSettings
    from gamemetrics.settings import TokenSettings
    from recommender.port import open_store
    from recommender.training import train_game

    settings = command_settings()
    rec = RecommenderSettings()
    tokens = TokenSettings()
    failed = False

    async def run() -> None:
        nonlocal failed
        store = open_store(settings, rec, tokens, subject="recommender-train")
        try:
            for game_id in _games(settings, game):
                try:
                    trained = await train_game(settings, rec, store, game_id, show_progress=progress and progress_enabled())
                except NotEnoughData as exc:
                    say(f"{game_id}: skipped, {exc}")
                    m.RECOMMENDER_TRAININGS.labels("skipped").inc()
                    failed = failed or game is not None
                    continue
                typer.echo(json.dumps({"game_id": game_id, "model_id": trained.model_id,
                                       "trained_at": trained.trained_at.isoformat(),
                                       "window_from": trained.window_from.isoformat(), **trained.metrics}))
        finally:
            await store.close()

    try:
        asyncio.run(run())
    except GameMetricsError as exc:
        fail(exc)
    if failed:
        raise typer.Exit(1)


@app.command("worker")
def worker(loglevel: Annotated[str, typer.Option(help="Faust log level.")] = "warning") -> None:
    """Fold new play into player vectors: player.events.processed -> Qdrant -> recommendations.generated.

    Its own consumer group (gamemetrics-recommender) and process; start several to share partitions
    (with a Qdrant server: local mode is one process, where `serve recommender` folds in instead).
    """
    import faust
    from prometheus_client import start_http_server

    from gamemetrics.runtime import tune_gc, use_uvloop
    from recommender.agent import build_worker_app
    from recommender.settings import RecommenderSettings

    settings = command_settings()
    rec = RecommenderSettings()
    if not settings.qdrant_url:
        fail(GameMetricsError(
            "the embedded vector store (GAMEMETRICS_QDRANT_URL empty) is owned by `gamemetrics serve recommender`, "
            "which folds new play in itself: run that. This worker is for a Qdrant server (set GAMEMETRICS_QDRANT_URL)."))
    if rec.worker_metrics_port:
        try:
            start_http_server(rec.worker_metrics_port, addr="127.0.0.1")
        except OSError as exc:
            say(f"metrics port {rec.worker_metrics_port} unavailable ({exc}); this worker exposes no /metrics")
    use_uvloop()
    faust_app = build_worker_app(settings, rec)
    tune_gc()
    faust.Worker(faust_app, loglevel=loglevel, quiet=True, override_logging=False).execute_from_commandline()


@app.command("evaluate")
def evaluate(
    game: Annotated[str, typer.Option(help="The game whose landed events are evaluated.")],
    test_period: Annotated[
        timedelta, duration_option("--test-period", help="The last this long is the test period (a bare number: days).", bare_unit="d")
    ] = "7d",  # type: ignore[assignment]
    k: Annotated[int, typer.Option(help="Length of the lists scored.")] = 10,
) -> None:
    """Time-split evaluation on a game's landed events: recall@k, NDCG@k and coverage of the model,
    popularity and random. (Simulated data with latent tastes: `python -m bench.recommender --evaluate`.)"""
    from recommender.evaluate import evaluate as run_evaluation
    from recommender.settings import RecommenderSettings
    from recommender.training import load_columns

    settings = command_settings()
    rec = RecommenderSettings()
    now = datetime.now(timezone.utc)
    try:
        cols, _ = load_columns(settings, game, now - timedelta(days=rec.window_days))
        result = run_evaluation(cols, int((now - test_period).timestamp() * 1000), k, rec.factors,
                                rec.half_life_days, rec.bm25_k1, rec.bm25_b, rec.seed)
    except GameMetricsError as exc:
        fail(exc)
    say(f"{result.train_interactions} training interactions, {result.test_players} test players, "
        f"{result.catalog} items")
    typer.echo(result.table())


@app.command("models")
def models_(game: Annotated[str, typer.Option(help="The game.")], output: OutputOption = None) -> None:
    """List a game's model versions (the live one marked), with their window and metrics."""
    from gamemetrics.settings import TokenSettings
    from recommender.port import open_store
    from recommender.settings import RecommenderSettings

    settings = command_settings()

    async def run() -> None:
        store = open_store(settings, RecommenderSettings(), TokenSettings(), subject="recommender-models")
        try:
            live = await store.live_model_id(game)
            models = await store.list_models(game)
            for meta in models:
                meta.pop("popular", None)
            emit(({**meta, "live": meta.get("model_id") == live} for meta in models), output)
        finally:
            await store.close()

    try:
        asyncio.run(run())
    except GameMetricsError as exc:
        fail(exc)


@app.command("forget")
def forget(
    player_id: Annotated[str, typer.Argument(help="The player to forget.")],
    game: Annotated[str, typer.Option(help="The player's game.")],
) -> None:
    """Remove a player from every recommender store (Qdrant points of every model version, Redis); prints the counts.
    With the embedded store and `serve recommender` running, the service does it (admin API, audited)."""
    from gamemetrics.settings import TokenSettings
    from recommender.forget import forget_player
    from recommender.settings import RecommenderSettings

    try:
        counts = forget_player(command_settings(), game, player_id, RecommenderSettings(), TokenSettings())
    except GameMetricsError as exc:
        fail(exc)
    typer.echo(json.dumps({"game_id": game, "player_id": player_id, **counts}))
