"""Commands of the store, mounted by ``operations.cli``:

    gamemetrics games create|rotate-key|list     games and their API keys
    gamemetrics games gameanalytics-keys         a game's GameAnalytics-format key pair
    gamemetrics currencies set|list              the currency table revenue is converted with
    gamemetrics verify                           rollups against a GROUP BY over player_events
    gamemetrics migrate                          the Alembic migrations and the time partitions ahead
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated

import typer

from gamemetrics.commands import OutputOption, command_settings, duration_option, duration_text, emit, fail
from gamemetrics.errors import GameMetricsError
from store import db

games_app = typer.Typer(help="Games and their API keys.", no_args_is_help=True)
currencies_app = typer.Typer(help="The currency table revenue is converted with.", no_args_is_help=True)


def _audit(settings, conn, action: str, game_id: str, detail: dict) -> None:
    """API-key creation and rotation go into the audit log (the key itself never does)."""
    import getpass

    from store.audit import AuditLog

    AuditLog.of(settings).append(conn, f"cli:{getpass.getuser()}", action, game_id, None, detail)


@games_app.command("create")
def games_create(name: Annotated[str, typer.Argument(help="Display name of the game.")]) -> None:
    """Create a game; prints {"game_id": ..., "api_key": ..., "gameanalytics": {"game_key": ..., "secret_key": ...}}.
    The API key is shown only once; the GameAnalytics pair again by `games gameanalytics-keys`."""
    from store.gameanalytics import issue_key_pair
    from store.games import create_game
    from store.secret_box import SecretBox

    try:
        settings = command_settings()
        box = SecretBox.of(settings)  # before anything is written: production refuses a default key
        with db.connect(settings, autocommit=True) as conn:
            game = create_game(conn, name)
            pair = issue_key_pair(conn, game.game_id, box)
            _audit(settings, conn, "games.create", game.game_id, {"name": name})
    except GameMetricsError as exc:
        fail(exc)
    typer.echo(json.dumps({"game_id": game.game_id, "api_key": game.api_key, "gameanalytics": pair.as_json()}))


@games_app.command("gameanalytics-keys")
def games_gameanalytics_keys(
    game_id: Annotated[str, typer.Argument(help="The game whose GameAnalytics key pair to print.")],
    new: Annotated[bool, typer.Option("--new", help="Issue a new pair (the old one stops at once).")] = False,
) -> None:
    """Print the game's GameAnalytics-format key pair as JSON, issuing one if it has none (or --new)."""
    from store.gameanalytics import issue_key_pair, key_pair
    from store.secret_box import SecretBox

    try:
        settings = command_settings()
        box = SecretBox.of(settings)
        with db.connect(settings, autocommit=True) as conn:
            pair = None if new else key_pair(conn, game_id, box)
            if pair is None:
                pair = issue_key_pair(conn, game_id, box)
                _audit(settings, conn, "games.gameanalytics_keys", game_id, {"new": True})
    except GameMetricsError as exc:
        fail(exc)
    typer.echo(json.dumps({"game_id": game_id, "gameanalytics": pair.as_json()}))


@games_app.command("rotate-key")
def games_rotate_key(
    game_id: Annotated[str, typer.Argument(help="The game whose key to rotate.")],
    grace: Annotated[
        timedelta, duration_option("--grace", help="How long the current keys stay valid (a bare number: hours).", bare_unit="h")
    ] = "24h",  # type: ignore[assignment]
) -> None:
    """Issue a new API key; the current ones keep working for --grace. Prints the new key as JSON."""
    from store.games import rotate_key

    hours = grace.total_seconds() / 3600
    try:
        settings = command_settings()
        with db.connect(settings, autocommit=True) as conn:
            api_key = rotate_key(conn, game_id, grace)
            _audit(settings, conn, "games.rotate_key", game_id, {"grace_hours": hours})
    except GameMetricsError as exc:
        fail(exc)
    typer.echo(json.dumps({"game_id": game_id, "api_key": api_key, "previous_keys_expire_in_hours": hours,
                           "grace": duration_text(grace)}))


@games_app.command("list")
def games_list(output: OutputOption = None) -> None:
    """List the games: id, name, creation time and how many keys are valid."""
    from store.games import list_games

    try:
        with db.connect(command_settings()) as conn:
            games = list_games(conn)
    except GameMetricsError as exc:
        fail(exc)
    emit(({"game_id": game_id, "name": name, "created_at": created_at, "valid_keys": keys}
          for game_id, name, created_at, keys in games), output)


@currencies_app.command("set")
def currencies_set(
    code: Annotated[str, typer.Argument(help="ISO 4217 code, e.g. ISK.")],
    usd_per_unit: Annotated[float, typer.Argument(help="Value of one unit in US dollars.")],
) -> None:
    """Add or update a currency's rate (workers re-read the table every GAMEMETRICS_WORKER_RATES_REFRESH_S, 60 s)."""
    from schemas.event_types import is_currency
    from store.currencies import set_rate

    if not is_currency(code) or usd_per_unit <= 0:
        raise typer.BadParameter(f"{code!r} must be an ISO 4217 code and the rate > 0")
    try:
        with db.connect(command_settings()) as conn:
            set_rate(conn, code, usd_per_unit)
            conn.commit()
    except GameMetricsError as exc:
        fail(exc)
    typer.echo(f"{code} = {usd_per_unit} USD")


@currencies_app.command("list")
def currencies_list(output: OutputOption = None) -> None:
    """Show the currency table."""
    from store.currencies import list_rates

    try:
        with db.connect(command_settings()) as conn:
            rates = list_rates(conn)
    except GameMetricsError as exc:
        fail(exc)
    emit(({"currency": code, "usd_per_unit": rate, "updated_at": updated} for code, rate, updated in rates), output)


def verify() -> None:
    """Check that every rollup table equals a GROUP BY over player_events and that no event is stored
    twice (scans the events)."""
    from store.verify import rollup_differences

    try:
        with db.connect(command_settings()) as conn:
            problems = rollup_differences(conn)
    except GameMetricsError as exc:
        fail(exc)
    if not problems:
        typer.echo("all rollups match player_events; no event stored twice")
        return
    for table, rows in problems.items():
        typer.echo(f"{table}:")
        for row in rows:
            typer.echo(f"  {row}")
    raise typer.Exit(1)


def migrate(
    revision: Annotated[str, typer.Option(help="Alembic revision to bring the schema to.")] = "head",
) -> None:
    """Run the database migrations into GAMEMETRICS_DATABASE_SCHEMA and create the time partitions ahead.

    Idempotent: a schema already at ``revision`` is left as it is. The Helm chart runs it as a
    pre-install/pre-upgrade Job before any service starts.
    """
    from store.migrate import upgrade

    settings = command_settings()
    try:
        upgrade(settings, revision)
    except GameMetricsError as exc:
        fail(exc)
    typer.echo(f"schema {settings.database_schema} migrated to {revision}")
