"""The ingest HTTP service (FastAPI): POST /v1/events, the Segment and GameAnalytics endpoints,
health, readiness, metrics, OpenAPI. The thin ASGI layer: it parses each request into the inputs of
the request pipeline (``ingest.pipeline``: authenticate -> [native call] -> rate limit -> validate ->
group -> encode -> Kafka), turns its answer into JSON and every ``IngestError`` into its HTTP status
(``refusal``), and opens and closes the pipeline's parts in its lifespan.

With the native crate built and the native Avro codec (``ingest.native``), the JSON envelope,
validation, suppression, country fill, grouping and encoding are one call into the crate (counted
as the ``validate`` step), made before the rate limit (which then takes its event count); an
envelope the call leaves alone goes to ``parse_envelope`` for its 400/413, and ``validate_batch``
and the rest stay the reference path when the crate is not built.

POST /v1/events reaches ``accept_events`` from a bare ASGI callable in front of the FastAPI app
(``front``); FastAPI serves everything else and still documents the route in the OpenAPI.

Settings are resolved once by the factory (``ingest.main.build``) and passed in.

Tracing (``tracing`` given, see gamemetrics.tracing): a server span per POST /v1/events and a
producer span around the Kafka send, whose context every produced message carries in its
``traceparent`` header. A client's own traceparent is not honoured: the ingest is a public endpoint
and a client must not pick our traces or force their sampling. No span records the client address.
Without ``tracing`` no span is made and no header is written.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
import structlog
from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from opentelemetry.trace import SpanKind, StatusCode, Tracer
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from gamemetrics import metric_defs as m
from gamemetrics.exposition import MetricsExposition
from gamemetrics.http import add_health_routes
from gamemetrics.keys import require_strong
from gamemetrics.redact import redact
from gamemetrics.settings import Settings, secret_box_keys
from gamemetrics.tracing import Tracing
from ingest import segment
from ingest.body import check_media_type, read_body
from ingest.compat import CompatRoutes
from ingest.cors import with_cors
from ingest.docs import ERROR_RESPONSES, POST_EVENTS_DESCRIPTION, EventsResponse, request_body_openapi
from ingest.errors import IngestError
from ingest.pipeline import Client, IngestParts, IngestPipeline, api_key, readiness
from ingest.settings import IngestSettings
from ingest.steps import FLUSH_INTERVAL_S, StepClock
from ingest.validate_only import wants_validate_only
from schemas.wire import PlainCodec

log = structlog.get_logger("ingest")

SERVER_SPAN = "POST /v1/events"
SERVER_SPAN_ATTRIBUTES = {"http.request.method": "POST", "http.route": "/v1/events", "url.path": "/v1/events"}
Handler = Callable[[Request], Awaitable[Response]]


def refusal(exc: IngestError) -> Response:
    """The answer to a refused request: its status, ``{"error": ...}``, and Retry-After when it has one."""
    m.INGEST_REQUESTS.labels(str(exc.status)).inc()
    headers = {"Retry-After": str(exc.retry_after_s)} if exc.retry_after_s is not None else None
    return JSONResponse({"error": redact(str(exc))}, status_code=exc.status, headers=headers)


def _address(request: Request) -> str | None:
    client = request.scope.get("client")
    return client[0] if client else None


def _client(request: Request, country_header: str) -> Client:
    return Client(_address(request), request.headers.get(country_header) if country_header else None)


def create_app(settings: Settings, ingest: IngestSettings, codec: PlainCodec,
               exposition: MetricsExposition = MetricsExposition(), tracing: Tracing | None = None) -> ASGIApp:
    """The ingest ASGI app; ``exposition``: what /metrics sums (this process, or every ingest process);
    ``tracing`` None (the default) = no spans and no trace headers."""
    tracer = tracing.tracer("ingest") if tracing is not None else None
    pipeline = IngestPipeline(settings, ingest, codec, tracer)
    clock = StepClock(ingest.step_sample_every)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        for problem in require_strong(settings.env, secret_box_keys(settings)):  # production: InsecureKey, no start
            log.warning("insecure_setting", problem=problem)
        pipeline.parts = parts = IngestParts.open(settings, ingest)
        flusher = asyncio.create_task(_flush_forever(clock))
        log.info("ingest_started", avro_codec=codec.name, native_ingest=pipeline.native is not None, topic=pipeline.topic)
        yield
        flusher.cancel()
        clock.flush()
        await parts.close()
        exposition.process_exit()

    async def accept_events(request: Request) -> Response:
        """POST /v1/events; every refusal raises an IngestError."""
        timer = clock.timer()
        received_at_ms = int(time.time() * 1000)
        headers = request.headers
        gzipped = check_media_type(headers.get("content-type"), headers.get("content-encoding"))
        key = api_key(headers, request.query_params if request.scope.get("query_string") else None)
        game_id = await pipeline.authenticate(timer, key, _address(request))
        body = await read_body(timer.chunks("body", request.stream()), gzipped, ingest.max_body_bytes,
                               headers.get("content-length"))
        validate_only = wants_validate_only(request)
        accepted, rejected = await pipeline.accept_body(timer, game_id, body, received_at_ms,
                                                        _client(request, ingest.country_header), validate_only)
        response = Response(orjson.dumps({"accepted": accepted, "rejected": [r.as_json() for r in rejected],
                                          **({"validate_only": True} if validate_only else {})}),
                            media_type="application/json")
        timer.lap("respond")
        return response

    app = FastAPI(title="GameMetrics ingest", version="1", lifespan=lifespan,
                  description="Telemetry ingestion for games: batches of events in, per-event verdicts out.")
    app.add_exception_handler(IngestError, _refuse)
    traced_accept = _traced(tracer, accept_events)

    @app.post("/v1/events", response_model=EventsResponse, responses=ERROR_RESPONSES, description=POST_EVENTS_DESCRIPTION,
              summary="Send telemetry events",
              openapi_extra={"requestBody": request_body_openapi()[0], "security": [{"bearer": []}, {"apiKey": []}]})
    async def post_events(request: Request) -> Response:
        return await traced_accept(request)

    @app.get("/v1/projects/{write_key}/settings", include_in_schema=False)
    async def segment_settings(write_key: str) -> dict[str, Any]:  # Segment SDKs' cdnHost (ingest.segment)
        return segment.project_settings(write_key)

    add_health_routes(app, lambda: readiness(pipeline.parts), exposition, before_scrape=clock.flush)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    compat = CompatRoutes(
        ingest, clock.timer,
        lambda request, timer, key: pipeline.authenticate(timer, key, _address(request)),
        lambda request, timer, game_id, events, sent_at_ms, received_at_ms, validate_only: pipeline.accept_batch(
            timer, game_id, events, sent_at_ms, received_at_ms, _client(request, ingest.country_header), validate_only),
        lambda: pipeline.parts.ga_keys, lambda: pipeline.parts.auth_failures,
    )
    return with_cors(_front(app, traced_accept, compat), ingest)


async def _refuse(request: Request, exc: Exception) -> Response:
    return refusal(exc)  # type: ignore[arg-type]  # registered for IngestError only


async def _flush_forever(clock: StepClock) -> None:
    while True:
        await asyncio.sleep(FLUSH_INTERVAL_S)
        clock.flush()


def _traced(tracer: Tracer | None, accept: Handler) -> Handler:
    """``accept``, inside a server span when tracing is on."""
    if tracer is None:
        return accept

    async def traced_accept(request: Request) -> Response:
        with tracer.start_as_current_span(SERVER_SPAN, kind=SpanKind.SERVER, attributes=SERVER_SPAN_ATTRIBUTES,
                                          record_exception=False, set_status_on_exception=False) as span:
            try:
                response = await accept(request)
            except IngestError as exc:  # answered by ``refusal``; only a 5xx is the server's error
                span.set_attribute("http.response.status_code", exc.status)
                if exc.status >= 500:
                    span.set_status(StatusCode.ERROR, str(exc))
                raise
            except Exception as exc:
                span.record_exception(exc)
                span.set_status(StatusCode.ERROR, repr(exc))
                raise
            span.set_attribute("http.response.status_code", response.status_code)
            return response

    return traced_accept


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        _, components = request_body_openapi()
        schema.setdefault("components", {}).setdefault("schemas", {}).update(components)
        schema["components"]["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer", "description": "The game's API key."},
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        }
        app.openapi_schema = schema
    return app.openapi_schema


def _front(app: ASGIApp, accept: Handler, compat: CompatRoutes) -> ASGIApp:
    async def front(scope: Scope, receive: Receive, send: Send) -> None:
        # POST /v1/events straight to its handler: FastAPI's routing, dependency and middleware
        # layers cost ~120 µs of CPU per request here (bench/RESULTS.md, ingest fast path); the
        # FastAPI route stays, for the OpenAPI document and for every other method and path.
        handler = None
        if scope["type"] == "http" and scope["method"] == "POST" and (
            scope["path"] == "/v1/events" or (handler := compat.handler(scope["path"])) is not None
        ):
            try:  # Segment's and GameAnalytics' paths (ingest.compat) answer their own refusals
                response = await (accept if handler is None else handler)(Request(scope, receive))
            except IngestError as exc:
                response = refusal(exc)
            except ClientDisconnect:
                return
            except Exception:
                log.exception("ingest_request_failed")
                m.INGEST_REQUESTS.labels("500").inc()
                response = JSONResponse({"error": "internal error; retry with the same event ids"}, status_code=500)
            await response(scope, receive, send)
        else:
            await app(scope, receive, send)

    return front
