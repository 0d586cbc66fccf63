"""The append-only audit log with a keyed hash chain.

Each row's ``row_hash`` is HMAC-SHA256(audit key, prev_hash + the row's canonical JSON), and its
``prev_hash`` is the previous row's ``row_hash`` (``GENESIS`` for the first), so editing a row
breaks its own hash and deleting one breaks the next row's link; without the key nobody can
recompute the chain after tampering. A trigger refuses UPDATE, DELETE and TRUNCATE (an owner
can still disable it: the chain is what catches that). Appends serialise on one transaction
advisory lock, so the chain has no forks.

What is logged: GDPR requests and outcomes, admin mutations, token creation, API-key creation and
rotation, reads of one player's data. ``subject`` holds a keyed player hash (store.privacy), never
a player id.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from gamemetrics.redact import redact_value
from gamemetrics.settings import Settings

GENESIS = "0" * 64
AUDIT_LOCK = 0x6175646974  # "audit": the advisory lock every append takes


def _canonical(seq: int, at: datetime, actor: str, action: str, game_id: str | None, subject: str | None,
               detail: dict[str, Any]) -> bytes:
    return json.dumps(
        [seq, at.astimezone(timezone.utc).isoformat(), actor, action, game_id, subject, detail], sort_keys=True, separators=(",", ":"),
        default=str,
    ).encode()


def chain_hash(key: bytes, prev_hash: str, seq: int, at: datetime, actor: str, action: str, game_id: str | None,
               subject: str | None, detail: dict[str, Any]) -> str:
    payload = prev_hash.encode() + _canonical(seq, at, actor, action, game_id, subject, detail)
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


class AuditLog:
    def __init__(self, key: bytes) -> None:
        self._key = key

    @classmethod
    def of(cls, settings: Settings) -> "AuditLog":
        return cls(settings.audit_key.get_secret_value().encode())

    def append(self, conn: psycopg.Connection, actor: str, action: str, game_id: str | None = None,
               subject: str | None = None, detail: dict[str, Any] | None = None) -> int:
        """Append one row (inside the caller's transaction if one is open); returns its seq."""
        # what jsonb will give back, credentials masked (an error text may quote a URL)
        detail = redact_value(json.loads(json.dumps(detail or {}, default=str)))
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (AUDIT_LOCK,))
            last = conn.execute("SELECT seq, row_hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
            at = conn.execute("SELECT date_trunc('milliseconds', clock_timestamp())").fetchone()[0]
            row_hash = chain_hash(self._key, prev, seq, at, actor, action, game_id, subject, detail)
            conn.execute(
                "INSERT INTO audit_log (seq, at, actor, action, game_id, subject, detail, prev_hash, row_hash)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (seq, at, actor, action, game_id, subject, Jsonb(detail), prev, row_hash),
            )
        return seq

    def verify(self, conn: psycopg.Connection) -> "ChainReport":
        """Walk the whole chain in order; every broken row is reported (edited, missing before, re-linked)."""
        problems: list[str] = []
        prev, expected_seq, rows = GENESIS, 1, 0
        with conn.transaction(), conn.cursor(name="audit_verify") as cur:
            cur.execute("SELECT seq, at, actor, action, game_id, subject, detail, prev_hash, row_hash FROM audit_log"
                        " ORDER BY seq")
            for seq, at, actor, action, game_id, subject, detail, prev_hash, row_hash in cur:
                rows += 1
                if seq != expected_seq:
                    problems.append(f"seq {seq}: rows {expected_seq}..{seq - 1} are missing (deleted)")
                if prev_hash != prev:
                    problems.append(f"seq {seq}: prev_hash does not match the row before it (a row was deleted or edited)")
                if chain_hash(self._key, prev_hash, seq, at, actor, action, game_id, subject, detail) != row_hash:
                    problems.append(f"seq {seq}: row_hash does not match its content (the row was edited)")
                prev, expected_seq = row_hash, seq + 1
        return ChainReport(rows, problems)


@dataclass(frozen=True)
class ChainReport:
    rows: int
    problems: list[str]

    @property
    def intact(self) -> bool:
        return not self.problems
