"""GDPR and audit in the API: the admin mutations ``requestErase`` / ``requestExport``, and the
audit rows of admin mutations and of reads of one player's data.

A request is created in the store at once (with its tombstone: landing buries the player's
in-flight events from that moment); with ``runNow`` (the default) the erase/export job runs in a
worker thread and the answer carries the signed receipt (and the export's time-limited URL),
otherwise the next ``gamemetrics retention run`` does it. The audit log keeps the caller's
token subject and the keyed player hash, never the player id.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import strawberry

from graphql_api.errors import BadArgument
from graphql_api.types import Cost
from store.audit import AuditLog
from store.privacy import PlayerHasher

if TYPE_CHECKING:
    from graphql_api.context import Context

    Info = strawberry.Info[Context, None]
else:
    Info = strawberry.Info


@strawberry.type(description="A GDPR request and, once done, its signed receipt.")
class GdprRequest:
    request_id: str
    kind: str = strawberry.field(description="erase or export.")
    game_id: str
    player_hash: str = strawberry.field(description="Keyed hash of the player id (the id itself is not kept).")
    status: str = strawberry.field(description="pending, running, done or failed.")
    failing_store: str | None = strawberry.field(description="The store that failed (retried by the next pass).")
    requested_at: str
    receipt: str | None = strawberry.field(description="The signed receipt (JSON): `gamemetrics gdpr receipt verify`.")
    export_url: str | None = strawberry.field(description="Presigned, time-limited URL of the export bundle.")


async def audit(info: Info, action: str, game_id: str | None, player_id: str | None = None,
                detail: dict[str, Any] | None = None) -> None:
    """Append one audit row for the caller (the player as its keyed hash)."""
    services = info.context.services
    settings = services.settings
    subject = PlayerHasher.of(settings)(game_id, player_id) if game_id and player_id else None
    actor = f"token:{info.context.viewer.subject}"

    def append(conn) -> None:
        conn.autocommit = True
        AuditLog.of(settings).append(conn, actor, action, game_id, subject, detail or {})

    await services.db.write(append)


async def _request(info: Info, kind: str, game_id: str, player_id: str, reason: str, suppress: bool,
                   run_now: bool) -> GdprRequest:
    from retention.gdpr import requests
    from retention.run import run_gdpr_now

    info.context.viewer.require_admin("requestErase" if kind == "erase" else "requestExport", game_id)
    if not player_id or len(player_id) > 128:
        raise BadArgument(f"request{kind.title()}: playerId must be 1 to 128 characters")
    services = info.context.services
    settings = services.settings
    requester = f"token:{info.context.viewer.subject}"

    def create(conn):
        conn.autocommit = True
        return requests.create(conn, PlayerHasher.of(settings), AuditLog.of(settings), kind, game_id, player_id,
                               requester, reason, suppress)

    request = await services.db.write(create)
    rid = str(request.request_id)
    receipt = url = None
    status, failing = request.status, None
    job = services.gdpr_job  # read at start-up when gdpr_run_now (graphql_api.services)
    if run_now and job is not None:  # else: pending, for the `gdpr run` CronJob
        outcome = await asyncio.to_thread(run_gdpr_now, settings, job.s3, job.retention, job.gdpr, job.stages, rid)
        if rid in outcome.receipts:
            status, receipt, url = "done", json.dumps(outcome.receipts[rid]), outcome.export_urls.get(rid)
        for failed_id, store, _error in outcome.failed:
            if failed_id == rid:
                status, failing = "failed", store
    return GdprRequest(request_id=rid, kind=kind, game_id=game_id, player_hash=request.player_hash, status=status,
                       failing_store=failing, requested_at=request.requested_at.isoformat(), receipt=receipt,
                       export_url=url)


@strawberry.type
class GdprMutation:
    @strawberry.mutation(description="Erase a player from every store (admin of the game); with suppress, ingest "
                                     "also refuses their future events.", directives=[Cost(weight=20)])
    async def request_erase(self, info: Info, game_id: str, player_id: str, reason: str = "",
                            suppress: bool = False, run_now: bool = True) -> GdprRequest:
        return await _request(info, "erase", game_id, player_id, reason, suppress, run_now)

    @strawberry.mutation(description="Export everything held on a player as a zip in object storage (admin of "
                                     "the game); the answer has a time-limited URL.", directives=[Cost(weight=20)])
    async def request_export(self, info: Info, game_id: str, player_id: str, reason: str = "",
                             run_now: bool = True) -> GdprRequest:
        return await _request(info, "export", game_id, player_id, reason, False, run_now)
