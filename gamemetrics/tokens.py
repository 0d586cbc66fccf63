"""Bearer tokens: signed JWTs (HS256) naming a role and the games it may see. Pure: no I/O.

    role      analyst  reads every query and subscription of its games
              admin    the same, plus the admin mutations of its games
    games     a list of game ids, or ["*"] for every game (present and future)

Issued by ``gamemetrics tokens create --role analyst --games g1,g2 --ttl 24h``; verified by every
API that serves game data (the GraphQL API, the recommender API), so it lives in the foundation.
Errors are ``gamemetrics.errors.TokenError``s; each API translates them into its own answers.
Tokens themselves are never stored; they end when they expire, when the secret changes, or when
revoked: ``gamemetrics tokens revoke`` records the token id (the ``jti`` claim) in the audit log, each
API keeps the ids still unexpired in a ``RevokedTokens`` set it refreshes from there
(``store.tokens``), and ``verify_token`` refuses them.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from collections.abc import Iterable
from typing import Literal, get_args

import jwt

from gamemetrics.errors import TokenNotPermitted, TokenRejected, TokenRequestError
from gamemetrics.settings import TokenSettings

Role = Literal["analyst", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
ALL_GAMES = "*"
ALGORITHM = "HS256"
LEEWAY = timedelta(seconds=30)  # clock skew tolerated between the issuer and this server
CREATE_HINT = "create one with `gamemetrics tokens create --role analyst --games <game ids> --ttl 24h`"

_TTL = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_TTL_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass(frozen=True)
class Principal:
    """Who is calling: the verified claims of their token."""

    subject: str
    role: Role
    games: frozenset[str]
    expires_at: datetime
    token_id: str

    @property
    def all_games(self) -> bool:
        return ALL_GAMES in self.games

    def may_read(self, game_id: str) -> bool:
        return self.all_games or game_id in self.games

    def expired(self, now: datetime | None = None) -> bool:
        return self.expires_at + LEEWAY < (now or datetime.now(timezone.utc))

    def require_game(self, game_id: str) -> None:
        if not self.may_read(game_id):
            raise TokenNotPermitted(
                f"game {game_id!r} is not among this token's games ({', '.join(sorted(self.games))}); "
                "ask for a token that includes it"
            )

    def require_admin(self, action: str, game_id: str | None = None) -> None:
        """``game_id`` None: the action touches every game, so the token must cover all of them."""
        if self.role != "admin":
            raise TokenNotPermitted(f"{action} needs the admin role; this token's role is {self.role}")
        if game_id is None and not self.all_games:
            raise TokenNotPermitted(f"{action} affects every game; it needs an admin token for all games (--games '*')")
        if game_id is not None:
            self.require_game(game_id)


def parse_ttl(text: str) -> timedelta:
    """``90s``, ``15m``, ``24h``, ``7d``, ``2w`` -> timedelta."""
    match = _TTL.match(text)
    if not match or int(match.group(1)) == 0:
        raise TokenRequestError(f"ttl {text!r} is not a positive duration like 30m, 24h or 7d")
    return timedelta(seconds=int(match.group(1)) * _TTL_UNITS[match.group(2)])


def parse_games(text: str) -> list[str]:
    games = sorted({g.strip() for g in text.split(",") if g.strip()})
    if not games:
        raise TokenRequestError("games is empty: name game ids separated by commas, or '*' for every game")
    if ALL_GAMES in games and len(games) > 1:
        raise TokenRequestError("games: '*' already means every game; do not list others beside it")
    return games


def issue_token(settings: TokenSettings, role: str, games: list[str], ttl: timedelta,
                subject: str = "cli", now: datetime | None = None) -> str:
    if role not in ROLES:
        raise TokenRequestError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if not games:
        raise TokenRequestError("a token needs at least one game, or '*'")
    if ttl > timedelta(seconds=settings.token_max_ttl_s):
        raise TokenRequestError(
            f"ttl {ttl} is longer than the {timedelta(seconds=settings.token_max_ttl_s)} allowed "
            "(GAMEMETRICS_GRAPHQL_TOKEN_MAX_TTL_S)"
        )
    issued = now or datetime.now(timezone.utc)
    claims = {
        "iss": settings.jwt_issuer, "aud": settings.jwt_audience, "sub": subject, "jti": uuid.uuid4().hex,
        "iat": int(issued.timestamp()), "exp": int((issued + ttl).timestamp()), "role": role, "games": list(games),
    }
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm=ALGORITHM)


def bearer_token(value: object) -> str:
    """The token of an ``Authorization`` value (``Bearer <token>``)."""
    if not value:
        raise TokenRejected(f"missing token: send `Authorization: Bearer <token>`; {CREATE_HINT}")
    if not isinstance(value, str) or value[:7].lower() != "bearer " or not value[7:].strip():
        raise TokenRejected("the Authorization value must be `Bearer <token>`")
    return value[7:].strip()


class RevokedTokens:
    """The ids of revoked, not yet expired tokens that an API process refuses; replaced whole by its
    refresher (``store.tokens.keep_revocations_fresh``), read on every request."""

    def __init__(self, ids: Iterable[str] = ()) -> None:
        self._ids: frozenset[str] = frozenset(ids)

    def replace(self, ids: Iterable[str]) -> None:
        self._ids = frozenset(ids)

    def __contains__(self, token_id: object) -> bool:
        return token_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)


NO_REVOCATIONS = RevokedTokens()


def verify_token(settings: TokenSettings, token: str, now: datetime | None = None,
                 revoked: RevokedTokens = NO_REVOCATIONS) -> Principal:
    """The caller a token names; its times are checked against ``now`` (default: the clock), its id
    against ``revoked``."""
    try:
        claims = jwt.decode(
            token, settings.jwt_secret.get_secret_value(), algorithms=[ALGORITHM],
            audience=settings.jwt_audience, issuer=settings.jwt_issuer,
            options={"require": ["exp", "iat", "iss", "aud", "sub"], "verify_exp": False, "verify_iat": False,
                     "verify_nbf": False},
        )
    except jwt.InvalidSignatureError as exc:
        raise TokenRejected("token signature does not verify: it was not issued with this server's secret") from exc
    except (jwt.InvalidAudienceError, jwt.InvalidIssuerError) as exc:
        raise TokenRejected(f"token is not for this API: {exc}") from exc
    except jwt.InvalidTokenError as exc:
        raise TokenRejected(f"malformed token: {exc}") from exc
    now = now or datetime.now(timezone.utc)
    try:
        expires_at = datetime.fromtimestamp(claims["exp"], timezone.utc)
        issued_at = datetime.fromtimestamp(claims["iat"], timezone.utc)
    except (TypeError, ValueError, OverflowError) as exc:
        raise TokenRejected("malformed token: `exp` and `iat` must be epoch seconds") from exc
    if now > expires_at + LEEWAY:
        raise TokenRejected(f"token expired; {CREATE_HINT}")
    if issued_at > now + LEEWAY:
        raise TokenRejected("token is issued in the future: the issuer's clock or this server's is wrong")
    role, games = claims.get("role"), claims.get("games")
    if role not in ROLES:
        raise TokenRejected(f"token role {role!r} is not one of {', '.join(ROLES)}")
    if not isinstance(games, list) or not games or not all(isinstance(g, str) and g for g in games):
        raise TokenRejected("token `games` claim must be a non-empty list of game ids (or ['*'])")
    token_id = str(claims.get("jti", ""))
    if token_id and token_id in revoked:
        raise TokenRejected(f"token {token_id} was revoked (`gamemetrics tokens revoke`); {CREATE_HINT}")
    return Principal(str(claims["sub"]), role, frozenset(games), expires_at, token_id)
