"""The record of issued and revoked bearer tokens, kept in the audit log (no table of its own).

``gamemetrics tokens create`` appends a ``tokens.create`` row naming the token's id (its ``jti``),
role, games, subject and expiry (never the token); ``gamemetrics tokens revoke ID`` appends a
``tokens.revoke`` row. ``listing`` reads both back for ``tokens list``; ``revoked_ids`` gives the
ids still worth refusing (revoked and not yet expired), which each API process reloads every
``GAMEMETRICS_GRAPHQL_REVOCATION_REFRESH_S`` (``keep_revocations_fresh``) into the
``gamemetrics.tokens.RevokedTokens`` that ``verify_token`` checks. A revoked token therefore stops
working within that refresh interval, in every API process, without a table or a migration.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timezone

import psycopg
import structlog

from gamemetrics.settings import Settings
from gamemetrics.tokens import LEEWAY, RevokedTokens
from store import db
from store.audit import AuditLog
from store.connections import translate
from store.errors import StoreError

log = structlog.get_logger(__name__)

CREATED = "tokens.create"
REVOKED = "tokens.revoke"


class UnknownToken(StoreError):
    """No token with that id was issued (or it was issued before ids were recorded)."""


@dataclass(frozen=True)
class IssuedToken:
    token_id: str
    subject: str
    role: str
    games: list[str]
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at + LEEWAY < now else "valid"

    def public(self, now: datetime) -> dict[str, object]:
        return {"token_id": self.token_id, "subject": self.subject, "role": self.role, "games": self.games,
                "issued_at": self.issued_at, "expires_at": self.expires_at, "state": self.state(now)}


def record_issued(conn: psycopg.Connection, settings: Settings, actor: str, token_id: str, role: str,
                  games: list[str], subject: str, expires_at: datetime) -> None:
    """The audit row of a new token (its id, never the token)."""
    AuditLog.of(settings).append(conn, actor, CREATED, None, None, {
        "token_id": token_id, "role": role, "games": games, "subject": subject, "expires_at": expires_at.isoformat(),
    })


def listing(conn: psycopg.Connection) -> list[IssuedToken]:
    """Every token issued with a recorded id, newest first, with its revocation if any."""
    try:
        rows = conn.execute(
            "SELECT c.detail->>'token_id', c.detail->>'subject', c.detail->>'role', c.detail->'games', c.at,"
            " (c.detail->>'expires_at')::timestamptz, r.at"
            " FROM audit_log c LEFT JOIN LATERAL (SELECT min(at) AS at FROM audit_log"
            "   WHERE action = %s AND detail->>'token_id' = c.detail->>'token_id') r ON true"
            " WHERE c.action = %s AND c.detail ? 'token_id' ORDER BY c.seq DESC",
            (REVOKED, CREATED),
        ).fetchall()
    except psycopg.Error as exc:
        raise translate(exc, "listing tokens") from exc
    return [IssuedToken(tid, subject, role, list(games or []), at, expires, revoked)
            for tid, subject, role, games, at, expires, revoked in rows]


def revoke(conn: psycopg.Connection, settings: Settings, actor: str, token_id: str) -> IssuedToken:
    """Record the revocation of ``token_id`` (idempotent: a second revoke adds nothing)."""
    found = [t for t in listing(conn) if t.token_id == token_id]
    if not found:
        raise UnknownToken(f"no token {token_id!r} was issued; `gamemetrics tokens list` shows their ids")
    token = found[0]
    if token.revoked_at is None:
        AuditLog.of(settings).append(conn, actor, REVOKED, None, None,
                                     {"token_id": token_id, "expires_at": token.expires_at.isoformat()})
        token = next(t for t in listing(conn) if t.token_id == token_id)
    return token


def revoked_ids(conn: psycopg.Connection, now: datetime | None = None) -> set[str]:
    """Ids of revoked tokens that have not expired yet (an expired token is refused anyway)."""
    now = now or datetime.now(timezone.utc)
    try:
        rows = conn.execute(
            "SELECT DISTINCT detail->>'token_id' FROM audit_log"
            " WHERE action = %s AND (detail->>'expires_at')::timestamptz + %s > %s",
            (REVOKED, LEEWAY, now),
        ).fetchall()
    except psycopg.Error as exc:
        raise translate(exc, "reading revoked tokens") from exc
    return {row[0] for row in rows}


def load_revocations(settings: Settings, revoked: RevokedTokens) -> None:
    """Replace ``revoked`` with the current revocations (one short query)."""
    with db.connect(settings, autocommit=True) as conn:
        revoked.replace(revoked_ids(conn))


async def keep_revocations_fresh(settings: Settings, revoked: RevokedTokens, every_s: float) -> None:
    """Reload ``revoked`` every ``every_s`` until cancelled (an API's lifespan task). While PostgreSQL
    is unreachable the last set is kept and the failure logged: tokens revoked meanwhile keep working
    until it is back."""
    while True:
        try:
            await asyncio.to_thread(load_revocations, settings, revoked)
        except StoreError as exc:
            log.warning("token_revocations_not_refreshed", error=str(exc))
        await asyncio.sleep(every_s)
