"""Bearer tokens of the GraphQL API, in its own errors.

The tokens themselves (claims, signing, verification) are the foundation's ``gamemetrics.tokens``,
shared with the recommender API; this module translates its ``TokenError``s at the API's boundary:
``TokenRejected`` -> ``Unauthenticated``, ``TokenNotPermitted`` -> ``Forbidden``,
``TokenRequestError`` -> ``BadArgument``.

A token is created with ``gamemetrics tokens create --role analyst --games g1,g2 --ttl 24h`` and
sent as ``Authorization: Bearer <token>`` (HTTP) or as ``{"Authorization": "Bearer <token>"}`` in
the ``connection_init`` payload (WebSocket).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from gamemetrics import tokens
from gamemetrics.errors import TokenNotPermitted, TokenRejected, TokenRequestError
from gamemetrics.settings import TokenSettings
from gamemetrics.tokens import ALL_GAMES, CREATE_HINT, LEEWAY, ROLES, Role  # noqa: F401  (re-exported)
from graphql_api.errors import BadArgument, Forbidden, Unauthenticated


@dataclass(frozen=True)
class Principal(tokens.Principal):
    """The caller, whose refusals are the API's ``Forbidden``."""

    def require_game(self, game_id: str) -> None:
        try:
            super().require_game(game_id)
        except TokenNotPermitted as exc:
            raise Forbidden(str(exc)) from exc

    def require_admin(self, action: str, game_id: str | None = None) -> None:
        try:
            super().require_admin(action, game_id)
        except TokenNotPermitted as exc:
            raise Forbidden(str(exc)) from exc


def parse_ttl(text: str) -> timedelta:
    try:
        return tokens.parse_ttl(text)
    except TokenRequestError as exc:
        raise BadArgument(str(exc)) from exc


def parse_games(text: str) -> list[str]:
    try:
        return tokens.parse_games(text)
    except TokenRequestError as exc:
        raise BadArgument(str(exc)) from exc


def issue_token(settings: TokenSettings, role: str, games: list[str], ttl: timedelta,
                subject: str = "cli", now: datetime | None = None) -> str:
    try:
        return tokens.issue_token(settings, role, games, ttl, subject=subject, now=now)
    except TokenRequestError as exc:
        raise BadArgument(str(exc)) from exc


def bearer_token(value: object) -> str:
    try:
        return tokens.bearer_token(value)
    except TokenRejected as exc:
        raise Unauthenticated(str(exc)) from exc


def verify_token(settings: TokenSettings, token: str, now: datetime | None = None,
                 revoked: tokens.RevokedTokens = tokens.NO_REVOCATIONS) -> Principal:
    try:
        p = tokens.verify_token(settings, token, now=now, revoked=revoked)
    except TokenRejected as exc:
        raise Unauthenticated(str(exc)) from exc
    return Principal(p.subject, p.role, p.games, p.expires_at, p.token_id)
