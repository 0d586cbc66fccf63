"""Commands of the GraphQL API, mounted by ``operations/cli.py``:

    gamemetrics serve graphql --host --port --workers    (serve_graphql)
    gamemetrics tokens create --role --game --ttl         (tokens_app)
    gamemetrics tokens list | revoke TOKEN_ID             the issued tokens (from the audit log); refuse one

``python -m graphql_api`` runs the same commands, plus ``export-schema``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from gamemetrics.commands import (
    OutputOption, command_settings, duration_option, duration_text, emit, fail, say, serve_asgi,
)
from gamemetrics.settings import Settings

tokens_app = typer.Typer(help="Bearer tokens of the GraphQL API and dashboard.", no_args_is_help=True)


def serve_graphql(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8090,
    workers: Annotated[int, typer.Option(help="Number of server processes (each runs its own live consumer).")] = 1,
) -> None:
    """Run the analytics API: GraphQL at /graphql (subscriptions over graphql-transport-ws), dashboard at /dashboard.

    Settings: GAMEMETRICS_GRAPHQL_* (JWT secret, limits, introspection; see graphql_api/settings.py).
    """
    serve_asgi("graphql_api.main:build", host, port, workers)


@tokens_app.command("create")
def tokens_create(
    role: Annotated[str, typer.Option(help="analyst (read) or admin (read + admin mutations).")] = "analyst",
    games: Annotated[str, typer.Option("--game", "--games", help="Game ids the token may see, comma separated; '*' = every game.")] = "",
    ttl: Annotated[timedelta, duration_option("--ttl", help="Lifetime.")] = "24h",  # type: ignore[assignment]
    subject: Annotated[str, typer.Option(help="Who the token is for (shown in the API's logs).")] = "cli",
) -> None:
    """Create a signed token; prints it on stdout (and what it allows on stderr)."""
    from graphql_api.auth import issue_token, parse_games, verify_token
    from graphql_api.errors import ApiError
    from graphql_api.settings import insecure_defaults, load_graphql_settings

    settings, gql = command_settings(), load_graphql_settings()
    try:
        game_ids = parse_games(games)
        if ttl <= timedelta(0):
            raise typer.BadParameter(f"--ttl {duration_text(ttl)} is not a positive duration like 30m, 24h or 7d")
        lifetime = ttl
        token = issue_token(gql, role, game_ids, lifetime, subject=subject)
    except ApiError as exc:
        fail(exc, 2)
    for problem in insecure_defaults(gql):
        typer.secho(f"warning: {problem}", fg="yellow", err=True)
    _warn_unknown_games(settings, game_ids)
    _audit_token(settings, verify_token(gql, token), lifetime)
    say(f"{role} token for {', '.join(game_ids)}, valid {lifetime}")
    typer.echo(token)


def _actor() -> str:
    import getpass

    return f"cli:{getpass.getuser()}"


def _audit_token(settings: Settings, principal, lifetime: object) -> None:
    """Token creation goes into the audit log, with its id for `tokens list/revoke` (the token itself never does)."""
    from store import db
    from store.tokens import record_issued

    try:
        with db.connect(settings, autocommit=True) as conn:
            record_issued(conn, settings, _actor(), principal.token_id, principal.role, sorted(principal.games),
                          principal.subject, principal.expires_at)
    except Exception as exc:  # the store is unreachable or unmigrated: the token is valid, the audit row is missing
        typer.secho(f"warning: token not written to the audit log, so `tokens revoke` cannot find it ({exc})",
                    fg="yellow", err=True)


@tokens_app.command("list")
def tokens_list(
    all_: Annotated[bool, typer.Option("--all", help="Also the expired and revoked tokens.")] = False,
    output: OutputOption = None,
) -> None:
    """The tokens issued (id, subject, role, games, expiry, state), newest first, from the audit log."""
    from datetime import datetime, timezone

    from gamemetrics.errors import GameMetricsError
    from store import db
    from store.tokens import listing

    settings = command_settings()
    now = datetime.now(timezone.utc)
    try:
        with db.connect(settings, autocommit=True) as conn:
            issued = listing(conn)
    except GameMetricsError as exc:
        fail(exc)
    emit((t.public(now) for t in issued if all_ or t.state(now) == "valid"), output,
         columns=("token_id", "subject", "role", "games", "expires_at", "state"))


@tokens_app.command("revoke")
def tokens_revoke(token_id: Annotated[str, typer.Argument(help="The token's id (`tokens list`).")]) -> None:
    """Refuse a token from now on: every API process stops accepting it within
    GAMEMETRICS_GRAPHQL_REVOCATION_REFRESH_S (10 s). Recorded in the audit log; prints the token as JSON."""
    import json
    from datetime import datetime, timezone

    from gamemetrics.errors import GameMetricsError
    from graphql_api.settings import load_graphql_settings
    from store import db
    from store.tokens import revoke

    settings = command_settings()
    try:
        with db.connect(settings, autocommit=True) as conn:
            token = revoke(conn, settings, _actor(), token_id)
    except GameMetricsError as exc:
        fail(exc)
    say(f"token {token_id} revoked; the APIs refuse it within {load_graphql_settings().revocation_refresh_s:g} s")
    typer.echo(json.dumps(token.public(datetime.now(timezone.utc)), default=str))


def _warn_unknown_games(settings: Settings, game_ids: list[str]) -> None:
    """A typo in a game id gives a token that sees nothing: say so when the store is reachable."""
    from store import db
    from store.games import known_game_ids

    if game_ids == ["*"]:
        return
    try:
        with db.connect(settings) as conn:
            known = known_game_ids(conn, game_ids)
    except Exception:  # the store is unreachable or unmigrated: the token is still valid, just unchecked
        return
    unknown = sorted(set(game_ids) - known)
    if unknown:
        typer.secho(f"warning: no game {', '.join(unknown)} in the store (yet); `gamemetrics games list`", fg="yellow", err=True)


app = typer.Typer(help="The GameMetrics analytics API.", no_args_is_help=True, pretty_exceptions_enable=False)
app.command("serve")(serve_graphql)
app.add_typer(tokens_app, name="tokens")


@app.command("export-schema")
def export_schema() -> None:
    """Write the SDL to graphql_api/schema.graphql (a test fails while it is out of date)."""
    from graphql_api.schema import SDL_PATH, export_sdl
    from graphql_api.settings import load_graphql_settings

    export_sdl(load_graphql_settings())
    say(f"wrote {SDL_PATH}")
