"""The ingest request pipeline, without HTTP: parsed inputs in, verdicts out, every refusal an ``IngestError``.

In the order of ``IngestPipeline.accept_body`` (POST /v1/events once its body is read):
authenticate (API key -> game) -> [native call: JSON envelope, validation, suppression, country fill,
grouping and encoding in one] -> rate limit (the game's budget, by the number of events; mostly
from this process's lease, see ``ingest.ratelimit``) -> [Python path: ``accept_batch``: validate each
event -> GDPR suppression -> fill country from the edge header -> group per player -> encode Avro]
-> produce and await Kafka's acks (``deliver``). The CPU of each step is counted (``ingest.steps``).

``accept_batch`` is also the path of the Segment and GameAnalytics endpoints (``ingest.compat``) once
they have translated their messages. The HTTP layer (``ingest.app``) parses the request into these
inputs and turns the results and errors into answers; the parts this pipeline talks to
(``IngestParts``: producer, key caches, rate limiter, suppression list) are opened and closed by its
lifespan.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from opentelemetry.trace import SpanKind, StatusCode, Tracer, get_current_span, use_span

from gamemetrics import metric_defs as m
from gamemetrics.readiness import OK, Readiness
from gamemetrics.redact import redact
from gamemetrics.settings import Settings
from gamemetrics.tracing import kafka_headers
from ingest.auth import ApiKeyResolver
from ingest.batching import group_by_player
from ingest.body import parse_envelope
from ingest.errors import AuthError, KafkaUnavailable, RateLimited
from ingest.ga_keys import GameKeyResolver
from ingest.native import native_ingest
from ingest.privacy import IpHasher, edge_country
from ingest.ratelimit import Budget, FailureBudget, LeasePolicy, RateLimiter
from ingest.settings import IngestSettings
from ingest.steps import StepTimer
from ingest.suppression import SuppressionList
from ingest.validation import Rejection, TimeLimits, reason_field, validate_batch
from schemas.catalog import load_catalog
from schemas.ids import schema_ids
from schemas.wire import AvroSerializer, PlainCodec
from streams.errors import ProduceError
from streams.producer import EventProducer, ProducerConfig
from streams.topics import RAW_EVENTS

log = structlog.get_logger("ingest")


def api_key(headers: Mapping[str, str], query: Mapping[str, str] | None) -> str:
    """The API key of a request: ``Authorization: Bearer``, else ``X-API-Key``, else ``?api_key=`` in
    ``query`` (navigator.sendBeacon cannot set headers; None: no query string); AuthError when there is none."""
    auth = headers.get("authorization", "")
    key = auth[7:].strip() if auth[:7].lower() == "bearer " else headers.get("x-api-key", "").strip()
    if not key and query is not None:
        key = query.get("api_key", "").strip()
    if not key:
        raise AuthError("missing API key: send `Authorization: Bearer <api key>`, `X-API-Key` or `?api_key=`")
    return key


@dataclass(frozen=True, slots=True)
class Client:
    """Who sent a request: the peer address (None when the server does not know it) and the value of
    the trusted edge's country header (``IngestSettings.country_header``; None when unset or absent)."""

    address: str | None
    edge_header: str | None


@dataclass
class IngestParts:
    """What the lifespan opens and closes; the pipeline talks to it."""

    producer: EventProducer
    keys: ApiKeyResolver
    auth_failures: FailureBudget
    limiter: RateLimiter
    suppressions: SuppressionList
    ga_keys: GameKeyResolver

    @classmethod
    def open(cls, settings: Settings, ingest: IngestSettings) -> IngestParts:
        return cls(
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

    async def close(self) -> None:
        await self.limiter.close()
        await self.suppressions.close()
        await self.keys.close()
        await self.ga_keys.close()
        self.producer.close()


async def readiness(parts: IngestParts) -> Readiness:
    """Ready when Kafka answers the producer's metadata request (within its own 2 s)."""
    reachable = await asyncio.to_thread(parts.producer.reachable)
    return Readiness({"kafka": OK if reachable else "unreachable"})


def produce(producer: EventProducer, tracer: Tracer | None, topic: str,
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


_OK_REQUESTS = m.INGEST_REQUESTS.labels("200")


class IngestPipeline:
    """The steps of an ingest request; ``parts`` is set by the lifespan before the first request."""

    def __init__(self, settings: Settings, ingest: IngestSettings, codec: PlainCodec, tracer: Tracer | None) -> None:
        self.ingest = ingest
        self.tracer = tracer
        self.topic = settings.topic(RAW_EVENTS.name)
        # validated events are already plain (epoch-ms ints, id strings): skip fastavro's logical-type layer
        self.serializer = AvroSerializer(
            schema_ids(settings.schema_registry_url), self.topic, load_catalog().latest(RAW_EVENTS.value_schema),
            logical=False, codec=codec,
        )
        self.limits = TimeLimits(future_ms=ingest.future_tolerance_s * 1000, past_ms=ingest.past_horizon_s * 1000)
        # the whole request in one native call when the crate is built and the codec is native (ingest/native.py)
        self.native = native_ingest(codec, self.serializer, self.limits, ingest.max_events, ingest.max_body_bytes)
        self.hash_ip = IpHasher(ingest.ip_hash_salt.get_secret_value())
        self.parts: IngestParts | None = None

    async def authenticate(self, timer: StepTimer, key: str, address: str | None) -> str:
        """The API key's game (cached per process); AuthError / RateLimited / KeyStoreUnavailable otherwise."""
        parts = self.parts
        hit, game_id = parts.keys.cached(key)
        if game_id is None:
            timer.lap("auth")
            game_id = await self._game_for(parts, key, hit, address or "unknown")
            timer.skip()
        timer.lap("auth")
        return game_id

    @staticmethod
    async def _game_for(parts: IngestParts, key: str, hit: bool, address: str) -> str:
        """The key's game when it is not fresh in the cache (``hit``: known to be unknown); 401 for an
        unknown key, 429 once this address has been refused too often (checked before PostgreSQL is
        asked: a flood of random keys costs neither queries nor memory)."""
        decision = parts.auth_failures.check(address)
        if not decision.allowed:
            m.INGEST_AUTH_THROTTLED.inc()
            raise RateLimited(
                f"too many unknown or expired API keys from {address}; retry in {decision.retry_after_s} s",
                decision.retry_after_s,
            )
        game_id = None if hit else await parts.keys.game_for(key)
        if game_id is None:
            parts.auth_failures.spend(address)
            raise AuthError("unknown or expired API key")
        return game_id

    async def take_budget(self, timer: StepTimer, game_id: str, event_count: int) -> None:
        """Spend ``event_count`` of the game's rate budget or raise RateLimited."""
        if event_count:
            limiter = self.parts.limiter
            decision = limiter.take_now(game_id, event_count)
            if decision is None:  # no lease left: one Redis call for a new one
                timer.lap("ratelimit")
                decision = await limiter.take(game_id, event_count)
                timer.skip()
            if not decision.allowed:
                raise RateLimited(
                    f"game {game_id} is over its budget of {self.ingest.rate_limit_events_per_s:g} events/s",
                    decision.retry_after_s,
                )
        timer.lap("ratelimit")

    async def deliver(self, timer: StepTimer, game_id: str, messages: list[tuple[bytes, bytes]], event_count: int,
                      accepted_count: int, rejected: list[Rejection]) -> None:
        """Produce the encoded batches and await Kafka's acks (KafkaUnavailable otherwise); count the request."""
        if messages:
            started = time.perf_counter()
            try:
                acknowledged = produce(self.parts.producer, self.tracer, self.topic, messages)
                timer.lap("produce")
                await acknowledged
            except ProduceError as exc:
                log.warning("kafka_unavailable", game_id=game_id, events=accepted_count, error=redact(str(exc)))
                raise KafkaUnavailable(
                    "events not stored: Kafka is unavailable; retry with the same event ids",
                    self.ingest.retry_after_s,
                ) from exc
            timer.skip()
            m.INGEST_PRODUCE_SECONDS.observe(time.perf_counter() - started)
        _OK_REQUESTS.inc()
        m.INGEST_BATCH_EVENTS.observe(event_count)
        if accepted_count:
            m.INGEST_EVENTS_ACCEPTED.inc(accepted_count)
        for rejection in rejected:
            m.INGEST_EVENTS_REJECTED.labels(reason_field(rejection.errors[0])).inc()
        if self.tracer is not None:
            get_current_span().set_attributes({
                "gamemetrics.game_id": game_id, "gamemetrics.events.accepted": accepted_count,
                "gamemetrics.events.rejected": len(rejected), "gamemetrics.kafka.messages": len(messages),
            })

    async def accept_batch(self, timer: StepTimer, game_id: str, events: list[Any], sent_at_ms: int | None,
                           received_at_ms: int, client: Client,
                           validate_only: bool = False) -> tuple[list[dict[str, Any]], list[Rejection]]:
        """The shared Python path of every ingest endpoint once the game and its raw events are known (ours, or
        translated by ingest.segment / ingest.gameanalytics): rate limit -> validate (skew correction from
        ``sent_at_ms``) -> GDPR suppression -> edge country -> group per player -> encode -> produce and
        await Kafka's acks. ``validate_only``: no budget spent and nothing produced, the verdicts only.
        (POST /v1/events takes the native call instead when the crate is built: ``ingest.native``.)"""
        if validate_only:
            timer.lap("ratelimit")
        else:
            await self.take_budget(timer, game_id, len(events))
        accepted, rejected = validate_batch(events, received_at_ms, sent_at_ms, self.limits)
        timer.lap("validate")
        accepted, rejected = await self.parts.suppressions.refuse(game_id, accepted, rejected)  # GDPR suppression
        timer.skip()
        if client.edge_header is not None and (country := edge_country(client.edge_header)):
            for event in accepted:
                event["country"] = event["country"] or country
        timer.lap("validate")
        if validate_only:
            _OK_REQUESTS.inc()
            return accepted, rejected
        messages: list[tuple[bytes, bytes]] = []
        if accepted:
            batches = group_by_player(accepted, game_id, received_at_ms, sent_at_ms, self.hash_ip(client.address))
            messages = [(key, self.serializer.encode(b)) for key, b in batches]
            timer.lap("encode")
        await self.deliver(timer, game_id, messages, len(events), len(accepted), rejected)
        return accepted, rejected

    async def accept_body(self, timer: StepTimer, game_id: str, body: bytes, received_at_ms: int, client: Client,
                          validate_only: bool) -> tuple[int, list[Rejection]]:
        """POST /v1/events once its body is read: (accepted count, rejections); every refusal an IngestError."""
        outcome = None
        if self.native is not None and not validate_only:  # parse, validate, suppress, group and encode in one call
            timer.lap("body")
            suppressed = await self.parts.suppressions.predicate(game_id)  # GDPR suppression
            timer.skip()
            country = edge_country(client.edge_header) if client.edge_header is not None else None
            outcome = self.native.run(body, game_id, received_at_ms, self.hash_ip(client.address), country, suppressed)
            timer.lap("validate")
        if outcome is None:  # no native call, validate-only, or an envelope the native call leaves to Python
            envelope = parse_envelope(body, False, self.ingest.max_body_bytes, self.ingest.max_events)  # its 400/413
            timer.lap("body")
            accepted, rejected = await self.accept_batch(timer, game_id, envelope.events, envelope.sent_at_ms,
                                                         received_at_ms, client, validate_only)
            return len(accepted), rejected
        await self.take_budget(timer, game_id, outcome.events)
        if outcome.suppressed:
            m.INGEST_EVENTS_SUPPRESSED.inc(outcome.suppressed)
        accepted_count = outcome.events - len(outcome.rejected)
        await self.deliver(timer, game_id, outcome.messages, outcome.events, accepted_count, outcome.rejected)
        return accepted_count, outcome.rejected
