"""The GDPR job: run open requests (pending, or failed earlier) to done, store by store.

Called by the cron pass (``gamemetrics retention run``) and at once by ``gdpr erase|export``.
It holds the retention lock while it works, so it never races an archive pass over the same
Parquet files. An erase runs every forgetter in order under a lease (``requests.claim``), recording
each finished store (``requests.step_done``); the first that raises marks the request failed with
that store's name. The next pass (or, for a job killed mid-way, the first pass after its lease
expired) resumes at the first store not done; every forgetter is idempotent anyway. Done: a signed
receipt, the raw player id cleared, an audit row.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import psycopg
import structlog

from gamemetrics.keys import require_strong
from gamemetrics.redact import redact
from gamemetrics.settings import Settings
from retention.gdpr import receipts, requests
from retention.gdpr.export import write_bundle
from retention.gdpr.forgetters import ForgetContext, forgetters
from retention.errors import LeaseLost
from retention.gdpr.requests import Request
from retention.objects import ObjectStore
from retention.settings import GdprSettings, OtherStages, RetentionSettings, gdpr_keys
from store.audit import AuditLog
from store.rollups import anonymous_tables

log = structlog.get_logger("retention.gdpr")


def kept() -> dict[str, Any]:
    """What an erase leaves, on purpose, for the receipt: anonymous aggregates, and every Kafka topic keyed by
    player until its retention ages the records out (no consumer writes them again: each checks tombstones)."""
    from streams.topics import DLQ, NOTIFICATIONS, PROCESSED_EVENTS, RAW_EVENTS, RECOMMENDATIONS

    days = {spec.name: spec.retention_ms // 86_400_000 for spec in (RAW_EVENTS, PROCESSED_EVENTS, RECOMMENDATIONS,
                                                                       NOTIFICATIONS)}
    return {"anonymous_aggregates": list(anonymous_tables()),
            "kafka_topics_until_retention": [f"{name} ({n} d)" for name, n in days.items()]
            + [f"{DLQ.name} (retention policy dead_letters)"],
            "note": "the topics reach no store again: landing, notification delivery and the recommender's fold-in"
                    " drop the player by tombstone"}


@dataclass
class JobOutcome:
    done: list[str] = field(default_factory=list)
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # (request, store, error)
    receipts: dict[str, dict[str, Any]] = field(default_factory=dict)
    export_urls: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


class GdprJob:
    def __init__(self, conn: psycopg.Connection, settings: Settings, retention: RetentionSettings, gdpr: GdprSettings,
                 objects: ObjectStore, stages: OtherStages) -> None:
        # outside the local stack, no erase is signed with a public key or reaches S3 with one (InsecureKey)
        require_strong(settings.env, gdpr_keys(objects.settings, gdpr))
        self._conn = conn
        self._settings = settings
        self._retention = retention
        self._gdpr = gdpr
        self._objects = objects
        self._stages = stages
        self._audit = AuditLog.of(settings)
        self._key = gdpr.receipt_key.get_secret_value().encode()

    def run_open(self, only: str | None = None) -> JobOutcome:
        """Every open request (or only the one with id ``only``), oldest first."""
        outcome = JobOutcome()
        for request in requests.open_requests(self._conn):
            if only is not None and str(request.request_id) != only:
                continue
            self.run_one(request, outcome)
        return outcome

    def _context(self, request: Request) -> ForgetContext:
        assert request.player_id is not None  # noqa: S101 - open requests keep it (CHECK in the table)
        return ForgetContext(self._settings, self._retention, self._conn, self._objects, request.game_id,
                             request.player_id, request.player_hash, self._stages)

    def run_one(self, request: Request, outcome: JobOutcome) -> None:
        token = requests.claim(self._conn, request, self._gdpr.lease_s)
        if token is None:  # another job holds it
            return
        request = requests.get(self._conn, request.request_id) or request  # the steps done as of the claim
        started = time.perf_counter()
        ctx = self._context(request)
        body: dict[str, Any] = {
            "receipt_version": 1, "request_id": str(request.request_id), "kind": request.kind,
            "game_id": request.game_id, "player_hash": request.player_hash, "requester": request.requester,
            "requested_at": request.requested_at.astimezone(timezone.utc).isoformat(), "suppressed": request.suppress,
        }
        store = "?"
        try:
            if request.kind == "erase":
                # resumable: a store finished by an earlier (killed or failed) attempt is not run again
                stores: dict[str, dict[str, int]] = {s: dict(c) for s, c in request.step_counts.items()}
                for store, forget in forgetters():
                    if store in stores:
                        continue
                    stores[store] = forget(ctx)
                    requests.step_done(self._conn, request, token, store, stores[store], self._gdpr.lease_s)
                body["stores"] = stores
                body["kept"] = kept()
            else:
                store = "export"
                key, counts, digest, size = write_bundle(ctx, str(request.request_id))
                body.update(stores={"export": counts}, object_key=key, sha256=digest, bytes=size)
                outcome.export_urls[str(request.request_id)] = self._objects.presigned_url(
                    key, self._gdpr.export_url_ttl_s)
                body["url_expires_at"] = datetime.fromtimestamp(
                    time.time() + self._gdpr.export_url_ttl_s, timezone.utc).isoformat()
        except LeaseLost as exc:  # another job took it over: it finishes the request, this one leaves it alone
            log.warning("gdpr_lease_lost", request_id=str(request.request_id), store=store, error=str(exc))
            return
        except Exception as exc:  # any store: the request is failed with it, retried by the next pass
            error = redact(f"{type(exc).__name__}: {exc}")
            requests.mark_failed(self._conn, self._audit, request, store, error)
            outcome.failed.append((str(request.request_id), store, error))
            log.error("gdpr_request_failed", request_id=str(request.request_id), store=store, error=error)
            return
        body["completed_at"] = datetime.now(timezone.utc).isoformat()
        receipt = receipts.sign(body, self._key)
        requests.mark_done(self._conn, self._audit, request, receipt)
        outcome.done.append(str(request.request_id))
        outcome.receipts[str(request.request_id)] = receipt
        outcome.seconds[str(request.request_id)] = time.perf_counter() - started
        log.info("gdpr_request_done", request_id=str(request.request_id), kind=request.kind,
                 seconds=round(time.perf_counter() - started, 3))
