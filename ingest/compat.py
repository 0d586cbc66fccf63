"""The Segment and GameAnalytics endpoints: their wire format in and out, our path in between.

Each handler reads and authenticates a request the foreign way, translates its messages with the
pure ``ingest.segment`` / ``ingest.gameanalytics``, and hands the raw events to the same
``accept_batch`` as POST /v1/events (validation, skew correction, suppression, grouping, Kafka).
Only the answer is shaped for the foreign SDK:

- Segment: 200 ``{"success": true, "accepted": n}`` (+ ``"rejected"`` per message when any);
  a refused request ``{"success": false, "code": ..., "message": ...}`` with its status; a body over
  Segment's limits is a 400 as Segment answers it (its SDKs do not retry a 400). 429 and 503 carry
  Retry-After and the SDKs retry them.
- GameAnalytics: 200 with a JSON body (the SDK then deletes the batch); anything to retry (rate
  limit, Kafka or the key store unavailable) an EMPTY-body 503, the one answer on which the JS SDK
  re-queues its events; a bad key or HMAC a 401 with a body.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
import structlog
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from gamemetrics import metric_defs as m
from ingest import gameanalytics, segment
from ingest.body import check_media_type, gunzip, read_body
from ingest.errors import AuthError, EnvelopeError, IngestError, PayloadTooLarge, RateLimited
from ingest.ga_keys import GameKeyResolver
from ingest.ratelimit import FailureBudget
from ingest.settings import IngestSettings
from ingest.steps import StepTimer
from ingest.validate_only import wants_validate_only
from ingest.validation import Rejection, parse_time_ms

log = structlog.get_logger("ingest.compat")

Authenticate = Callable[[Request, StepTimer, str], Awaitable[str]]
Accept = Callable[[Request, StepTimer, str, list[Any], "int | None", int, bool],
                  Awaitable[tuple[list[dict[str, Any]], list[Rejection]]]]

SEGMENT_PATHS: dict[str, str | None] = {
    "/v1/batch": None, "/v1/b": None, "/v1/import": None,  # /v1/b: analytics-csharp, -kotlin, -swift
    "/v1/track": "track", "/v1/identify": "identify", "/v1/page": "page",
    "/v1/screen": "screen", "/v1/group": "group", "/v1/alias": "alias",
}
GA_REMOTE_CONFIGS_INIT = "/remote_configs/v1/init"
RETRY_STATUSES = (429, 500, 502, 503, 504)


def _json(payload: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json", headers=headers)


def _retry_after(exc: IngestError) -> dict[str, str] | None:
    return {"Retry-After": str(exc.retry_after_s)} if exc.retry_after_s is not None else None


def _loads(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise EnvelopeError(f"body is not valid JSON: {exc}") from exc


def _merged(translated: list[Rejection], validated: list[Rejection], positions: list[int]) -> list[dict[str, Any]]:
    return [r.as_json() for r in sorted([*translated, *segment.renumber(validated, positions)], key=lambda r: r.index)]


@dataclass
class CompatRoutes:
    ingest: IngestSettings
    timer: Callable[[], StepTimer]
    authenticate: Authenticate
    accept: Accept
    ga_keys: Callable[[], GameKeyResolver]
    auth_failures: Callable[[], FailureBudget]
    """Per client address: refused GameAnalytics keys/HMACs, as for refused API keys (ingest.app)."""

    def handler(self, path: str) -> Callable[[Request], Awaitable[Response]] | None:
        """The handler of a POST to ``path``, None when it is not a Segment or GameAnalytics path."""
        if path in SEGMENT_PATHS:
            return self.segment
        if path.startswith("/v2/") or path == GA_REMOTE_CONFIGS_INIT:
            return self.gameanalytics
        return None

    # -- Segment -------------------------------------------------------------------------------

    async def segment(self, request: Request) -> Response:
        try:
            return await self._segment(request)
        except IngestError as exc:
            m.INGEST_REQUESTS.labels(str(exc.status)).inc()
            message, status = str(exc), exc.status
            if isinstance(exc, PayloadTooLarge):  # Segment answers its limits with a 400
                message, status = f"{message} (Segment's limits: 500 KB per batch, 32 KB per message)", 400
            return _json({"success": False, "code": type(exc).__name__, "message": message}, status, _retry_after(exc))

    async def _segment(self, request: Request) -> Response:
        timer = self.timer()
        received_at_ms = int(time.time() * 1000)
        kind = SEGMENT_PATHS[request.scope["path"]]
        gzipped = check_media_type(request.headers.get("content-type"), request.headers.get("content-encoding"))
        limit = self.ingest.segment_max_batch_bytes if kind is None else self.ingest.segment_max_event_bytes
        body = await read_body(timer.chunks("body", request.stream()), gzipped, limit, request.headers.get("content-length"))
        payload = _loads(body)
        if not isinstance(payload, dict):
            raise EnvelopeError("body must be a JSON object")
        api_key = segment.write_key(request.headers.get("authorization"), payload.get("writeKey")) or (
            request.query_params.get("api_key") if request.scope.get("query_string") else None)
        if not api_key:
            raise AuthError("missing write key: send HTTP Basic auth with the API key as the user name, or writeKey")
        timer.lap("body")
        game_id = await self.authenticate(request, timer, api_key)
        if kind is None:
            messages = payload.get("batch")
            if not isinstance(messages, list):
                raise EnvelopeError('body must be a JSON object with a "batch" array')
        else:
            messages = [payload]
        if len(messages) > self.ingest.max_events:
            raise EnvelopeError(f"{len(messages)} messages in one batch; at most {self.ingest.max_events} allowed")
        sent_at_ms = None
        if payload.get("sentAt") is not None:
            sent_at_ms = parse_time_ms(payload["sentAt"])
            if sent_at_ms is None:
                raise EnvelopeError(f"sentAt: {payload['sentAt']!r:.60} is not an ISO 8601 time with offset")
        max_event = self.ingest.segment_max_event_bytes
        # a message can only pass 32 KB in a body that does: sizes are measured only then
        sizes = [len(orjson.dumps(message)) for message in messages] if len(body) > max_event else None
        translated = segment.translate(messages, kind, received_at_ms, sizes, max_event)
        timer.lap("body")
        validate_only = wants_validate_only(request)
        accepted, rejected = await self.accept(request, timer, game_id, translated.events, sent_at_ms, received_at_ms,
                                               validate_only)
        answer: dict[str, Any] = {"success": True, "accepted": len(accepted)}
        if rejected or translated.rejected:
            answer["rejected"] = _merged(translated.rejected, rejected, translated.positions)
        if validate_only:
            answer["validate_only"] = True
        response = _json(answer)
        timer.lap("respond")
        return response

    # -- GameAnalytics ---------------------------------------------------------------------------

    async def gameanalytics(self, request: Request) -> Response:
        try:
            return await self._gameanalytics(request)
        except IngestError as exc:
            m.INGEST_REQUESTS.labels(str(exc.status)).inc()
            if exc.status in RETRY_STATUSES:  # an empty body: the JS SDK keeps the events and sends them again
                return Response(b"", status_code=503, headers=_retry_after(exc))
            return _json({"error": str(exc)}, exc.status)
        except ClientDisconnect:
            raise
        except Exception:  # our fault: the SDK must keep its events (an answer with a body would drop them)
            log.exception("gameanalytics_request_failed")
            m.INGEST_REQUESTS.labels("500").inc()
            return Response(b"", status_code=503, headers={"Retry-After": str(self.ingest.retry_after_s)})

    async def _gameanalytics(self, request: Request) -> Response:
        timer = self.timer()
        received_at_ms = int(time.time() * 1000)
        path = request.scope["path"]
        if path == GA_REMOTE_CONFIGS_INIT:
            game_key, action = request.query_params.get("game_key", ""), "init"
        else:
            _, _, game_key, action = (path.split("/") + ["", ""])[:4]
            if action not in ("init", "events") or path.count("/") != 3:
                return _json({"error": f"no GameAnalytics endpoint {path}"}, 404)
        gzipped = check_media_type(request.headers.get("content-type"), request.headers.get("content-encoding"))
        raw = await read_body(timer.chunks("body", request.stream()), False, self.ingest.max_body_bytes,
                              request.headers.get("content-length"))
        timer.lap("body")
        address = request.client.host if request.client else "unknown"
        failures = self.auth_failures()
        decision = failures.check(address)
        if not decision.allowed:  # checked before PostgreSQL is asked, as for API keys
            m.INGEST_AUTH_THROTTLED.inc()
            raise RateLimited(f"too many refused game keys or signatures from {address}", decision.retry_after_s)
        if not gameanalytics.GAME_KEY.fullmatch(game_key):
            failures.spend(address)
            raise AuthError("game key: 32 characters [A-Za-z0-9] required")
        timer.lap("auth")
        key = await self.ga_keys().lookup(game_key)
        timer.skip()
        if key is None:
            failures.spend(address)
            raise AuthError("unknown game key")
        if not gameanalytics.signature_ok(key.secret_key, raw, request.headers.get("authorization")):
            failures.spend(address)
            raise AuthError("Authorization is not the body's HMAC-SHA256 under the game's secret key")
        timer.lap("auth")
        body = gunzip(raw, self.ingest.max_body_bytes) if gzipped else raw
        if action == "init":
            now_s = int(time.time())
            return _json({"enabled": True, "server_ts": now_s, "flags": [], "configs": [], "configs_hash": "",
                          "ab_id": "", "ab_variant_id": ""})
        events = _loads(body)
        if not isinstance(events, list):
            raise EnvelopeError("body must be a JSON array of events")
        if len(events) > self.ingest.max_events:
            raise PayloadTooLarge(f"{len(events)} events in one request; at most {self.ingest.max_events} allowed")
        translated = gameanalytics.translate(events)
        timer.lap("body")
        validate_only = wants_validate_only(request)
        # client_ts is already corrected by the SDK with our server_ts: no sent_at, no second correction
        accepted, rejected = await self.accept(request, timer, key.game_id, translated.events, None, received_at_ms,
                                               validate_only)
        answer: dict[str, Any] = {"accepted": len(accepted)}
        if rejected or translated.rejected:
            answer["rejected"] = [
                {**r, "errors": [e.replace("batch[", "events[", 1) for e in r["errors"]]}
                for r in _merged(translated.rejected, rejected, translated.positions)
            ]
        if validate_only:
            answer["validate_only"] = True
        response = _json(answer)
        timer.lap("respond")
        return response
