"""The ingest HTTP service: POST /v1/events, health, readiness, metrics, OpenAPI (FastAPI).

Request path, in the order of ``accept_events``: media type (JSON, gzip or none) -> authenticate
(API key -> game) -> read body (size limits, gunzip, JSON envelope) -> rate limit (the game's
budget, by the number of events; mostly from this process's lease, see ``ingest.ratelimit``) ->
validate each event -> fill country from the edge header -> group per player -> encode Avro ->
produce and await Kafka's acks -> answer per event. Every refusal is an ``IngestError`` carrying
its HTTP status. The CPU of each step is counted (``ingest.steps``).

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
from collections.abc import Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import orjson
import structlog
from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from opentelemetry.trace import SpanKind, StatusCode, Tracer, get_current_span, use_span
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from gamemetrics import metric_defs as m
from gamemetrics.exposition import MetricsExposition
from gamemetrics.redact import redact
from gamemetrics.keys import require_strong
from gamemetrics.settings import Settings, secret_box_keys
from gamemetrics.tracing import Tracing, kafka_headers
from ingest.auth import ApiKeyResolver
from ingest.batching import group_by_player
from ingest import segment
from ingest.compat import CompatRoutes
from ingest.cors import with_cors
from ingest.body import check_media_type, parse_envelope, read_body
from ingest.validate_only import wants_validate_only
from ingest.docs import ERROR_RESPONSES, POST_EVENTS_DESCRIPTION, EventsResponse, request_body_openapi
from ingest.errors import AuthError, IngestError, KafkaUnavailable, RateLimited
from ingest.ga_keys import GameKeyResolver
from ingest.native import native_ingest
from ingest.privacy import IpHasher, edge_country
from ingest.ratelimit import Budget, FailureBudget, LeasePolicy, RateLimiter
from ingest.settings import IngestSettings
from ingest.steps import FLUSH_INTERVAL_S, StepClock, StepTimer
from ingest.suppression import SuppressionList
from ingest.validation import Rejection, TimeLimits, reason_field, validate_batch
from schemas.catalog import load_catalog
from schemas.ids import schema_ids
from schemas.wire import AvroSerializer, PlainCodec
from streams.errors import ProduceError
from streams.producer import EventProducer, ProducerConfig
from streams.topics import RAW_EVENTS

log = structlog.get_logger("ingest")


def _api_key(request: Request) -> str:
    auth = request.headers.get("authorization", "")
    key = auth[7:].strip() if auth[:7].lower() == "bearer " else request.headers.get("x-api-key", "").strip()
    if not key:  # navigator.sendBeacon cannot set headers: the key then travels in the query
        key = request.query_params.get("api_key", "").strip()
    if not key:
        raise AuthError("missing API key: send `Authorization: Bearer <api key>`, `X-API-Key` or `?api_key=`")
    return key


async def _game_for(request: Request, keys: ApiKeyResolver, failures: FailureBudget, api_key: str, hit: bool) -> str:
    """The key's game when it is not fresh in the cache (``hit``: known to be unknown); 401 for an
    unknown key, 429 once this address has been refused too often (checked before PostgreSQL is
    asked: a flood of random keys costs neither queries nor memory)."""
    address = request.client.host if request.client else "unknown"
    decision = failures.check(address)
    if not decision.allowed:
        m.INGEST_AUTH_THROTTLED.inc()
        raise RateLimited(
            f"too many unknown or expired API keys from {address}; retry in {decision.retry_after_s} s",
            decision.retry_after_s,
        )
    game_id = None if hit else await keys.game_for(api_key)
    if game_id is None:
        failures.spend(address)
        raise AuthError("unknown or expired API key")
    return game_id


def refusal(exc: IngestError) -> Response:
    """The answer to a refused request: its status, ``{"error": ...}``, and Retry-After when it has one."""
    m.INGEST_REQUESTS.labels(str(exc.status)).inc()
    headers = {"Retry-After": str(exc.retry_after_s)} if exc.retry_after_s is not None else None
    return JSONResponse({"error": redact(str(exc))}, status_code=exc.status, headers=headers)


@dataclass
class _Running:
    """What the lifespan opens and closes; the handlers read it."""

    producer: EventProducer
    keys: ApiKeyResolver
    auth_failures: FailureBudget
    limiter: RateLimiter
    suppressions: SuppressionList
    ga_keys: GameKeyResolver


SERVER_SPAN = "POST /v1/events"
SERVER_SPAN_ATTRIBUTES = {"http.request.method": "POST", "http.route": "/v1/events", "url.path": "/v1/events"}


def _produce(producer: EventProducer, tracer: Tracer | None, topic: str,
             messages: list[tuple[bytes, bytes]]) -> Awaitable[None]:
    """``producer.produce_all``; traced, inside a producer span (ended by the returned awaitable, after
    the acks) whose context every message carries in its ``traceparent`` header."""
    if tracer is None:
        return producer.produce_all(topic, messages)
    span = tracer.start_span(f"send {topic}", kind=SpanKind.PRODUCER, attributes={
        "messaging.system": "kafka", "messaging.operation.type": "send", "messaging.destination.name": topic,
        "messaging.batch.message_count": len(messages),
    })
    try:
        with use_span(span, end_on_exit=False):
            headers = kafka_headers()
        acknowledged = producer.produce_all(topic, messages, [headers] * len(messages))
    except BaseException as exc:
        span.record_exception(exc)
        span.set_status(StatusCode.ERROR, str(exc))
        span.end()
        raise

    async def acked() -> None:
        with use_span(span, end_on_exit=True):  # records a ProduceError and marks the span an error
            await acknowledged

    return acked()


def create_app(settings: Settings, ingest: IngestSettings, codec: PlainCodec,
               exposition: MetricsExposition = MetricsExposition(), tracing: Tracing | None = None) -> ASGIApp:
    """The ingest ASGI app; ``exposition``: what /metrics sums (this process, or every ingest process);
    ``tracing`` None (the default) = no spans and no trace headers."""
    topic = settings.topic(RAW_EVENTS.name)
    tracer = tracing.tracer("ingest") if tracing is not None else None
    # validated events are already plain (epoch-ms ints, id strings): skip fastavro's logical-type layer
    serializer = AvroSerializer(
        schema_ids(settings.schema_registry_url), topic, load_catalog().latest(RAW_EVENTS.value_schema),
        logical=False, codec=codec,
    )
    limits = TimeLimits(future_ms=ingest.future_tolerance_s * 1000, past_ms=ingest.past_horizon_s * 1000)
    # the whole request in one native call when the crate is built and the codec is native (ingest/native.py)
    native = native_ingest(codec, serializer, limits, ingest.max_events, ingest.max_body_bytes)
    hash_ip = IpHasher(ingest.ip_hash_salt.get_secret_value())

    clock = StepClock(ingest.step_sample_every)
    running: list[_Running] = []  # the one set of parts of the running app, made by the lifespan

    async def flush_steps() -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL_S)
            clock.flush()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        for problem in require_strong(settings.env, secret_box_keys(settings)):  # production: InsecureKey, no start
            log.warning("insecure_setting", problem=problem)
        parts = _Running(
            producer=EventProducer(
                settings.kafka_bootstrap_servers,
                ProducerConfig(linger_ms=ingest.producer_linger_ms, delivery_timeout_ms=ingest.kafka_delivery_timeout_ms),
                security=settings.kafka_security(),
            ),
            keys=ApiKeyResolver(settings, ttl_s=ingest.key_cache_ttl_s, retry_after_s=ingest.retry_after_s,
                                negative_max=ingest.negative_key_cache_max),
            auth_failures=FailureBudget(
                Budget(ingest.auth_failures_per_s, ingest.auth_failures_burst), ingest.auth_failure_addresses_max
            ),
            limiter=RateLimiter(
                settings.redis_url, Budget(ingest.rate_limit_events_per_s, ingest.rate_limit_burst),
                lease=LeasePolicy(ingest.rate_limit_lease_s, ingest.rate_limit_lease_ttl_s),
            ),
            suppressions=SuppressionList(settings),
            ga_keys=GameKeyResolver(settings, ttl_s=ingest.ga_key_cache_ttl_s, retry_after_s=ingest.retry_after_s),
        )
        running.append(parts)
        flusher = asyncio.create_task(flush_steps())
        log.info("ingest_started", avro_codec=codec.name, native_ingest=native is not None, topic=topic)
        yield
        flusher.cancel()
        clock.flush()
        await parts.limiter.close()
        await parts.suppressions.close()
        await parts.keys.close()
        await parts.ga_keys.close()
        parts.producer.close()
        exposition.process_exit()

    ok_requests = m.INGEST_REQUESTS.labels("200")
    produce_seconds, batch_events, events_accepted = m.INGEST_PRODUCE_SECONDS, m.INGEST_BATCH_EVENTS, m.INGEST_EVENTS_ACCEPTED

    app = FastAPI(
        title="GameMetrics ingest",
        version="1",
        description="Telemetry ingestion for games: batches of events in, per-event verdicts out.",
        lifespan=lifespan,
    )

    @app.exception_handler(IngestError)
    async def refuse(request: Request, exc: IngestError) -> Response:
        return refusal(exc)

    body_doc, _ = request_body_openapi()

    @app.post(
        "/v1/events",
        response_model=EventsResponse,
        responses=ERROR_RESPONSES,
        description=POST_EVENTS_DESCRIPTION,
        summary="Send telemetry events",
        openapi_extra={"requestBody": body_doc, "security": [{"bearer": []}, {"apiKey": []}]},
    )
    async def post_events(request: Request) -> Response:
        return await traced_accept(request)

    async def traced_accept(request: Request) -> Response:
        """``accept_events``, inside a server span when tracing is on."""
        if tracer is None:
            return await accept_events(request)
        with tracer.start_as_current_span(SERVER_SPAN, kind=SpanKind.SERVER, attributes=SERVER_SPAN_ATTRIBUTES,
                                          record_exception=False, set_status_on_exception=False) as span:
            try:
                response = await accept_events(request)
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

    async def authenticate(request: Request, timer: StepTimer, api_key: str) -> str:
        """The API key's game (cached per process); AuthError / RateLimited / KeyStoreUnavailable otherwise."""
        parts = running[0]
        hit, game_id = parts.keys.cached(api_key)
        if game_id is None:
            timer.lap("auth")
            game_id = await _game_for(request, parts.keys, parts.auth_failures, api_key, hit)
            timer.skip()
        timer.lap("auth")
        return game_id

    async def take_budget(timer: StepTimer, game_id: str, event_count: int) -> None:
        """Spend ``event_count`` of the game's rate budget or raise RateLimited."""
        if event_count:
            limiter = running[0].limiter
            decision = limiter.take_now(game_id, event_count)
            if decision is None:  # no lease left: one Redis call for a new one
                timer.lap("ratelimit")
                decision = await limiter.take(game_id, event_count)
                timer.skip()
            if not decision.allowed:
                raise RateLimited(
                    f"game {game_id} is over its budget of {ingest.rate_limit_events_per_s:g} events/s", decision.retry_after_s
                )
        timer.lap("ratelimit")

    async def deliver(timer: StepTimer, game_id: str, messages: list[tuple[bytes, bytes]], event_count: int,
                      accepted_count: int, rejected: list[Rejection]) -> None:
        """Produce the encoded batches and await Kafka's acks (KafkaUnavailable otherwise); count the request."""
        if messages:
            started = time.perf_counter()
            try:
                acknowledged = _produce(running[0].producer, tracer, topic, messages)
                timer.lap("produce")
                await acknowledged
            except ProduceError as exc:
                log.warning("kafka_unavailable", game_id=game_id, events=accepted_count, error=redact(str(exc)))
                raise KafkaUnavailable(
                    "events not stored: Kafka is unavailable; retry with the same event ids",
                    ingest.retry_after_s,
                ) from exc
            timer.skip()
            produce_seconds.observe(time.perf_counter() - started)
        ok_requests.inc()
        batch_events.observe(event_count)
        if accepted_count:
            events_accepted.inc(accepted_count)
        for rejection in rejected:
            m.INGEST_EVENTS_REJECTED.labels(reason_field(rejection.errors[0])).inc()
        if tracer is not None:
            get_current_span().set_attributes({"gamemetrics.game_id": game_id, "gamemetrics.events.accepted": accepted_count,
                                               "gamemetrics.events.rejected": len(rejected),
                                               "gamemetrics.kafka.messages": len(messages)})

    async def accept_batch(request: Request, timer: StepTimer, game_id: str, events: list[Any], sent_at_ms: int | None,
                           received_at_ms: int, validate_only: bool = False) -> tuple[list[dict[str, Any]], list[Rejection]]:
        """The shared Python path of every ingest endpoint once the game and its raw events are known (ours, or
        translated by ingest.segment / ingest.gameanalytics): rate limit -> validate (skew correction from
        ``sent_at_ms``) -> GDPR suppression -> edge country -> group per player -> encode -> produce and
        await Kafka's acks. ``validate_only``: no budget spent and nothing produced, the verdicts only.
        (POST /v1/events takes the native call instead when the crate is built: ``ingest.native``.)"""
        parts = running[0]
        if validate_only:
            timer.lap("ratelimit")
        else:
            await take_budget(timer, game_id, len(events))
        accepted, rejected = validate_batch(events, received_at_ms, sent_at_ms, limits)
        timer.lap("validate")
        accepted, rejected = await parts.suppressions.refuse(game_id, accepted, rejected)  # GDPR suppression
        timer.skip()
        if ingest.country_header and (country := edge_country(request.headers.get(ingest.country_header))):
            for event in accepted:
                event["country"] = event["country"] or country
        timer.lap("validate")
        if validate_only:
            ok_requests.inc()
            return accepted, rejected
        messages: list[tuple[bytes, bytes]] = []
        if accepted:
            client_ip = request.client.host if request.client else None
            batches = group_by_player(accepted, game_id, received_at_ms, sent_at_ms, hash_ip(client_ip))
            messages = [(key, serializer.encode(b)) for key, b in batches]
            timer.lap("encode")
        await deliver(timer, game_id, messages, len(events), len(accepted), rejected)
        return accepted, rejected

    async def accept_events(request: Request) -> Response:
        """POST /v1/events; every refusal raises an IngestError."""
        timer = clock.timer()
        received_at_ms = int(time.time() * 1000)
        gzipped = check_media_type(request.headers.get("content-type"), request.headers.get("content-encoding"))
        game_id = await authenticate(request, timer, _api_key(request))
        chunks = timer.chunks("body", request.stream())
        body = await read_body(chunks, gzipped, ingest.max_body_bytes, request.headers.get("content-length"))
        validate_only = wants_validate_only(request)
        outcome = None
        if native is not None and not validate_only:  # parse, validate, suppress, group and encode in one call
            timer.lap("body")
            suppressed = await running[0].suppressions.predicate(game_id)  # GDPR suppression
            timer.skip()
            client_ip = request.client.host if request.client else None
            country = edge_country(request.headers.get(ingest.country_header)) if ingest.country_header else None
            outcome = native.run(body, game_id, received_at_ms, hash_ip(client_ip), country, suppressed)
            timer.lap("validate")
        if outcome is not None:
            await take_budget(timer, game_id, outcome.events)
            if outcome.suppressed:
                m.INGEST_EVENTS_SUPPRESSED.inc(outcome.suppressed)
            rejected = outcome.rejected
            accepted_count = outcome.events - len(rejected)
            await deliver(timer, game_id, outcome.messages, outcome.events, accepted_count, rejected)
        else:  # no native call, validate-only, or an envelope the native call leaves to Python (which raises its error)
            envelope = parse_envelope(body, False, ingest.max_body_bytes, ingest.max_events)
            timer.lap("body")
            accepted, rejected = await accept_batch(request, timer, game_id, envelope.events, envelope.sent_at_ms,
                                                    received_at_ms, validate_only)
            accepted_count = len(accepted)
        response = Response(
            orjson.dumps({"accepted": accepted_count, "rejected": [r.as_json() for r in rejected],
                          **({"validate_only": True} if validate_only else {})}),
            media_type="application/json",
        )
        timer.lap("respond")
        return response

    @app.get("/v1/projects/{write_key}/settings", include_in_schema=False)
    async def segment_settings(write_key: str) -> dict[str, Any]:  # Segment SDKs' cdnHost (ingest.segment)
        return segment.project_settings(write_key)

    @app.get("/healthz", summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="Readiness: Kafka reachable", responses={503: {"model": dict}})
    async def readyz(request: Request) -> Response:
        if await asyncio.to_thread(running[0].producer.reachable):
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "kafka unreachable"}, status_code=503)

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics() -> Response:
        clock.flush()
        body, content_type = exposition.render()
        return Response(body, media_type=content_type)

    def openapi() -> dict[str, Any]:
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

    app.openapi = openapi  # type: ignore[method-assign]

    compat = CompatRoutes(ingest, clock.timer, authenticate, accept_batch, lambda: running[0].ga_keys,
                          lambda: running[0].auth_failures)

    async def front(scope: Scope, receive: Receive, send: Send) -> None:
        # POST /v1/events straight to its handler: FastAPI's routing, dependency and middleware
        # layers cost ~120 µs of CPU per request here (bench/RESULTS.md, ingest fast path); the
        # FastAPI route above stays, for the OpenAPI document and for every other method and path.
        handler = None
        if scope["type"] == "http" and scope["method"] == "POST" and (
            scope["path"] == "/v1/events" or (handler := compat.handler(scope["path"])) is not None
        ):
            try:  # Segment's and GameAnalytics' paths (ingest.compat) answer their own refusals
                response = await (traced_accept if handler is None else handler)(Request(scope, receive))
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

    return with_cors(front, ingest)
