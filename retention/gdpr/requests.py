"""GDPR requests (erase, export): creating them, reading them, and their status.

An erase request is created in ONE transaction with its tombstone (so landing buries the
player's in-flight events from that moment) and its audit row. While it is pending/running/failed
the request keeps the raw player id (the job needs it to find rows); when it is done (erase or
export) the id is cleared and only the keyed hash remains. Statuses: pending -> running -> done | failed (with the
failing store); the next pass retries failed ones.

Leases: a job ``claim``s a request for ``GdprSettings.lease_s`` (a token and an expiry) and renews the
lease with every store it finishes (``step_done``, which also records the store and its counts). A
request left ``running`` by a killed job is taken over by the next job once its lease has expired,
and resumes at the first store not done; a job whose lease was taken over gets ``LeaseLost``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from gamemetrics.redact import redact
from store.audit import AuditLog
from store.privacy import PlayerHasher

KINDS = ("erase", "export")
OPEN = ("pending", "failed")
# what a job may take: open, or running under a lease that expired (its job was killed)
_TAKEABLE = "(status = ANY(%(open)s) OR (status = 'running' AND (lease_until IS NULL OR lease_until < now())))"


@dataclass(frozen=True)
class Request:
    request_id: uuid.UUID
    kind: str
    game_id: str
    player_hash: str
    player_id: str | None
    requester: str
    reason: str
    suppress: bool
    status: str
    failing_store: str | None
    error: str | None
    attempts: int
    requested_at: datetime
    finished_at: datetime | None
    receipt: dict[str, Any] | None
    steps_done: list[str] = field(default_factory=list)
    """Stores finished by earlier attempts (resumed past)."""
    step_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    """What each of them removed (for the receipt)."""

    def public(self) -> dict[str, Any]:
        """What a user may see: no raw player id."""
        return {
            "request_id": str(self.request_id), "kind": self.kind, "game_id": self.game_id,
            "player_hash": self.player_hash, "requester": self.requester, "reason": self.reason,
            "suppress": self.suppress, "status": self.status, "failing_store": self.failing_store,
            "error": self.error, "attempts": self.attempts, "requested_at": self.requested_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


_COLUMNS = ("request_id, kind, game_id, player_hash, player_id, requester, reason, suppress, status, failing_store,"
            " error, attempts, requested_at, finished_at, receipt, steps_done, step_counts")


def create(conn: psycopg.Connection, hasher: PlayerHasher, audit: AuditLog, kind: str, game_id: str, player_id: str,
           requester: str, reason: str = "", suppress: bool = False) -> Request:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    request_id = uuid.uuid4()
    player_hash = hasher(game_id, player_id)
    with conn.transaction():
        row = conn.execute(
            "INSERT INTO gdpr_requests (request_id, kind, game_id, player_hash, player_id, requester, reason, suppress,"
            " status) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'pending') RETURNING requested_at",
            (request_id, kind, game_id, player_hash, player_id, requester, reason, suppress),
        ).fetchone()
        if kind == "erase":
            # the tombstone: from now on landing buries this player's older events (suppressed: all of them)
            conn.execute(
                "INSERT INTO player_tombstones (game_id, player_hash, erased_at, suppressed, request_id)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (game_id, player_hash) DO UPDATE SET"
                " erased_at = excluded.erased_at, suppressed = player_tombstones.suppressed OR excluded.suppressed,"
                " request_id = excluded.request_id",
                (game_id, player_hash, row[0], suppress, request_id),
            )
        audit.append(conn, requester, f"gdpr.{kind}.requested", game_id, player_hash,
                     {"request_id": str(request_id), "reason": reason, "suppress": suppress})
    found = get(conn, request_id)
    assert found is not None  # noqa: S101 - just inserted in this connection
    return found


def _request(row: tuple) -> Request:
    return Request(*row)


def get(conn: psycopg.Connection, request_id: uuid.UUID | str) -> Request | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM gdpr_requests WHERE request_id = %s", (str(request_id),)).fetchone()
    return _request(row) if row else None


def open_requests(conn: psycopg.Connection, kind: str | None = None) -> list[Request]:
    """Pending and failed requests, and running ones whose lease expired (left by a killed job), oldest first."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM gdpr_requests WHERE {_TAKEABLE} AND (%(kind)s::text IS NULL OR kind = %(kind)s)"
        " ORDER BY requested_at", {"open": list(OPEN), "kind": kind},
    ).fetchall()
    return [_request(r) for r in rows]


def listing(conn: psycopg.Connection, status: str | None = None, limit: int = 100) -> list[Request]:
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM gdpr_requests WHERE (%s::text IS NULL OR status = %s) ORDER BY requested_at DESC"
        " LIMIT %s", (status, status, limit),
    ).fetchall()
    return [_request(r) for r in rows]


def claim(conn: psycopg.Connection, request: Request, lease_s: float) -> uuid.UUID | None:
    """Take the request (pending, failed, or running under an expired lease) for ``lease_s`` seconds: the
    lease's token, or None when another job holds it."""
    token = uuid.uuid4()
    with conn.transaction():
        cur = conn.execute(
            "UPDATE gdpr_requests SET status = 'running', started_at = now(), attempts = attempts + 1,"
            " failing_store = NULL, error = NULL, lease_token = %(token)s,"
            " lease_until = now() + make_interval(secs => %(lease)s)"
            f" WHERE request_id = %(id)s AND {_TAKEABLE}",
            {"token": token, "lease": float(lease_s), "id": request.request_id, "open": list(OPEN)},
        )
    return token if cur.rowcount == 1 else None


def step_done(conn: psycopg.Connection, request: Request, token: uuid.UUID, store: str, counts: dict[str, int],
              lease_s: float) -> None:
    """Record that ``store`` is done (with its counts) and renew the lease; ``LeaseLost`` when it is not ours."""
    from retention.errors import LeaseLost

    with conn.transaction():
        cur = conn.execute(
            "UPDATE gdpr_requests SET steps_done = array_append(steps_done, %(store)s),"
            " step_counts = step_counts || jsonb_build_object(%(store)s::text, %(counts)s::jsonb),"
            " lease_until = now() + make_interval(secs => %(lease)s)"
            " WHERE request_id = %(id)s AND status = 'running' AND lease_token = %(token)s",
            {"store": store, "counts": Jsonb(counts), "lease": float(lease_s), "id": request.request_id,
             "token": token},
        )
    if cur.rowcount != 1:
        raise LeaseLost(f"request {request.request_id}: the lease expired and another job took it over")


def mark_failed(conn: psycopg.Connection, audit: AuditLog, request: Request, store: str, error: str) -> None:
    """Failed at ``store``: the error text is stored (in the row and the audit log) with credentials masked."""
    error = redact(error)
    with conn.transaction():
        conn.execute("UPDATE gdpr_requests SET status = 'failed', failing_store = %s, error = %s, finished_at = now(),"
                     " lease_token = NULL, lease_until = NULL WHERE request_id = %s",
                     (store, error[:2000], request.request_id))
        audit.append(conn, "gdpr-job", f"gdpr.{request.kind}.failed", request.game_id, request.player_hash,
                     {"request_id": str(request.request_id), "store": store, "error": error[:500]})


def mark_done(conn: psycopg.Connection, audit: AuditLog, request: Request, receipt: dict[str, Any]) -> None:
    """Done: the receipt is stored and the raw player id cleared (only the keyed hash stays)."""
    with conn.transaction():
        conn.execute("UPDATE gdpr_requests SET status = 'done', finished_at = now(), receipt = %s, player_id = NULL,"
                     " lease_token = NULL, lease_until = NULL WHERE request_id = %s", (Jsonb(receipt), request.request_id))
        audit.append(conn, "gdpr-job", f"gdpr.{request.kind}.done", request.game_id, request.player_hash,
                     {"request_id": str(request.request_id), "stores": receipt.get("stores", {})})


def status_counts(conn: psycopg.Connection) -> tuple[dict[tuple[str, str], int], float]:
    """Requests by (kind, status), and the age in seconds of the oldest one not done (0 if none)."""
    counts = {(k, s): int(n) for k, s, n in conn.execute(
        "SELECT kind, status, count(*) FROM gdpr_requests GROUP BY 1, 2")}
    row = conn.execute("SELECT coalesce(extract(epoch FROM now() - min(requested_at)), 0) FROM gdpr_requests"
                       " WHERE status <> 'done'").fetchone()
    return counts, float(row[0])


def unsuppress(conn: psycopg.Connection, hasher: PlayerHasher, audit: AuditLog, game_id: str, player_id: str,
               requester: str) -> bool:
    """Lift a suppression: ingest accepts the player's new events again (the erase stays)."""
    player_hash = hasher(game_id, player_id)
    with conn.transaction():
        cur = conn.execute("UPDATE player_tombstones SET suppressed = false WHERE game_id = %s AND player_hash = %s"
                           " AND suppressed", (game_id, player_hash))
        if cur.rowcount:
            audit.append(conn, requester, "gdpr.unsuppress", game_id, player_hash, {})
    return cur.rowcount == 1
