"""The ingest HTTP service (FastAPI): POST /v1/events, health, readiness and metrics.

Request path: authenticate -> read body (size limits, gzip) -> parse JSON -> validate each event
-> group per player -> encode Avro -> produce and await Kafka's acks -> answer per event.
"""

from __future__ import annotations

import asyncio
import gzip
import time
import zlib
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import orjson
import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gamemetrics import metric_defs as m
from gamemetrics.settings import Settings
from ingest.auth import ApiKeyResolver
from ingest.batching import group_by_player
from ingest.errors import KafkaUnavailable
from ingest.producer import EventProducer
from ingest.validation import parse_time_ms, validate_batch
from schemas.catalog import load_catalog
from schemas.ids import schema_ids
from schemas.wire import AvroSerializer
from streams.topics import RAW_EVENTS

log = structlog.get_logger("ingest")


@dataclass(frozen=True)
class IngestLimits:
    max_body_bytes: int = 1024 * 1024
    max_events: int = 1000
    retry_after_s: int = 5


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    m.INGEST_REQUESTS.labels(str(status)).inc()
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _api_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return request.headers.get("x-api-key") or None


def _decompress(body: bytes, limit: int) -> bytes | None:
    """gunzip with a hard output limit (a gzip bomb stops at ``limit`` + 1 bytes)."""
    decoder = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    out = decoder.decompress(body, limit + 1)
    return None if len(out) > limit else out


def create_app(settings: Settings, limits: IngestLimits = IngestLimits()) -> FastAPI:
    topic = settings.topic(RAW_EVENTS.name)
    serializer = AvroSerializer(schema_ids(settings.schema_registry_url), topic, load_catalog().latest(RAW_EVENTS.value_schema))

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.producer = EventProducer(settings.kafka_bootstrap_servers)
        app.state.keys = ApiKeyResolver(settings)
        yield
        await app.state.keys.close()
        app.state.producer.close()

    app = FastAPI(title="GameMetrics ingest", version="1", lifespan=lifespan)

    @app.post("/v1/events")
    async def post_events(request: Request) -> Response:
        received_at_ms = int(time.time() * 1000)
        api_key = _api_key(request)
        if api_key is None:
            return _error(401, "missing API key: send `Authorization: Bearer <api key>` or `X-API-Key`")
        game_id = await request.app.state.keys.game_for(api_key)
        if game_id is None:
            return _error(401, "unknown or expired API key")
        body = await request.body()
        if request.headers.get("content-encoding", "").lower() == "gzip":
            try:
                decoded = _decompress(body, limits.max_body_bytes)
            except (zlib.error, gzip.BadGzipFile) as exc:
                return _error(400, f"body is not valid gzip: {exc}")
            if decoded is None:
                return _error(413, f"decompressed body is larger than {limits.max_body_bytes} bytes")
            body = decoded
        elif len(body) > limits.max_body_bytes:
            return _error(413, f"body of {len(body)} bytes is larger than {limits.max_body_bytes} bytes")
        try:
            payload: Any = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            return _error(400, f"body is not valid JSON: {exc}")
        if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
            return _error(400, 'body must be a JSON object with an "events" array')
        events = payload["events"]
        if len(events) > limits.max_events:
            return _error(413, f"{len(events)} events in one request; at most {limits.max_events} allowed")
        sent_at_ms = None
        if payload.get("sent_at") is not None:
            sent_at_ms = parse_time_ms(payload["sent_at"])
            if sent_at_ms is None:
                return _error(400, "sent_at: not an RFC 3339 time with offset or epoch milliseconds")
        accepted, rejected = validate_batch(events, received_at_ms, sent_at_ms)
        batches = group_by_player(accepted, game_id, received_at_ms, sent_at_ms, None)
        messages = [(key, serializer.encode(record)) for key, record in batches]
        if messages:
            started = time.perf_counter()
            try:
                await request.app.state.producer.send_all(topic, messages)
            except KafkaUnavailable as exc:
                log.warning("kafka_unavailable", game_id=game_id, events=len(accepted), error=str(exc))
                return _error(
                    503, "events not stored: Kafka is unavailable; retry with the same event ids",
                    {"Retry-After": str(limits.retry_after_s)},
                )
            m.INGEST_PRODUCE_SECONDS.observe(time.perf_counter() - started)
        m.INGEST_REQUESTS.labels("200").inc()
        m.INGEST_BATCH_EVENTS.observe(len(events))
        m.INGEST_EVENTS_ACCEPTED.inc(len(accepted))
        m.INGEST_EVENTS_REJECTED.inc(len(rejected))
        return Response(
            orjson.dumps({"accepted": len(accepted), "rejected": [r.as_json() for r in rejected]}),
            media_type="application/json",
        )

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz(request: Request) -> Response:
        if await asyncio.to_thread(request.app.state.producer.reachable):
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "kafka unreachable"}, status_code=503)

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
