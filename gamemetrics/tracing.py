"""OpenTelemetry tracing: off by default, free when off.

    configure_tracing(name, settings) -> Tracing | None    once per service process, at start-up
    Tracing.tracer(name)                                    what the traced code is given
    kafka_headers()                                         the current span's context as Kafka headers
    trace_parent(headers)                                   the traceparent of a consumed message
    producer_links(parents)                                 parent and links of a span over many messages

Off (no ``OTEL_TRACES_EXPORTER``, see ``gamemetrics.settings.TracingSettings``): ``configure_tracing``
returns None and installs nothing; the services are handed None and take branches that create no
span, no header and no attributes dict. On: an SDK ``TracerProvider`` with a ``BatchSpanProcessor``
per exporter named (``otlp`` over HTTP/protobuf, ``console``; ``none`` makes the spans and drops them).
The SDK reads the rest of its variables itself: OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT/HEADERS/TIMEOUT,
OTEL_TRACES_SAMPLER(_ARG), OTEL_BSP_*, OTEL_RESOURCE_ATTRIBUTES, OTEL_SPAN_*_LIMIT.

Trace context crosses Kafka as the W3C ``traceparent`` header alone (55 bytes; ``tracestate`` only
when a sampler set one); baggage is not propagated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Tracer, TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from gamemetrics.errors import TracingConfigError
from gamemetrics.settings import TracingSettings

TRACEPARENT = "traceparent"
OTLP_PROTOCOL = "http/protobuf"
_PROPAGATOR = TraceContextTextMapPropagator()


@dataclass(frozen=True)
class Tracing:
    """Tracing is on in this process: the provider every traced part of it takes its tracer from.
    Tests build one on an SDK provider with an in-memory exporter instead of ``configure_tracing``."""

    provider: TracerProvider

    def tracer(self, name: str) -> Tracer:
        return self.provider.get_tracer(name)


def configure_tracing(service_name: str, settings: TracingSettings) -> Tracing | None:
    """An SDK provider with the exporters ``settings`` name, when they ask for tracing; else None.

    The provider is passed to what is traced, never made the global one: FastAPI (0.16x) traces every
    app by itself as soon as a global SDK provider exists, which would double the ingest's server span
    and record what the ingest keeps out of its spans.

    ``service_name`` is the service.name unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES set one.
    Raises ``TracingConfigError`` for an exporter or transport this installation does not have."""
    if not settings.enabled:
        return None
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    exporters = [_exporter(name, settings) for name in settings.exporters if name != "none"]
    resource = Resource.create()  # OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME
    named = settings.service_name or resource.attributes.get(SERVICE_NAME, "")
    if not named or str(named).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: service_name}))
    provider = SdkTracerProvider(resource=resource)  # sampler and limits from OTEL_TRACES_SAMPLER, OTEL_SPAN_*
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))  # OTEL_BSP_* tune it
    return Tracing(provider)


def _exporter(name: str, settings: TracingSettings) -> Any:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if name == "otlp":
        protocol = settings.exporter_otlp_traces_protocol or settings.exporter_otlp_protocol
        if protocol != OTLP_PROTOCOL:
            raise TracingConfigError(
                f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol}: only {OTLP_PROTOCOL} is installed; point "
                "OTEL_EXPORTER_OTLP_ENDPOINT at the collector's OTLP/HTTP port (4318) instead"
            )
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()  # endpoint, headers, timeout, compression from OTEL_EXPORTER_OTLP_*
    raise TracingConfigError(
        f"OTEL_TRACES_EXPORTER={settings.traces_exporter}: unknown exporter {name!r}; use otlp, console or none"
    )


def kafka_headers() -> list[tuple[str, bytes]]:
    """The current span's context as Kafka message headers (``traceparent``, and ``tracestate`` if any)."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return [(name, value.encode()) for name, value in carrier.items()]


def trace_parent(headers: Iterable[tuple[str, Any]] | Mapping[str, Any] | None) -> bytes | None:
    """The ``traceparent`` header of a consumed message (a list of pairs or a mapping), if it has one."""
    if not headers:
        return None
    items = headers.items() if isinstance(headers, Mapping) else headers
    for name, value in items:
        if name == TRACEPARENT:
            return value if isinstance(value, bytes) else str(value).encode()
    return None


def producer_links(parents: Iterable[bytes | None]) -> tuple[Context, list[Link]]:
    """For a span over many consumed messages: a link to each distinct producer context, and as parent
    that context when there is exactly one (else a new root). Malformed traceparents are ignored."""
    contexts: list[tuple[Context, Link]] = []
    for value in {p for p in parents if p}:
        context = _PROPAGATOR.extract({TRACEPARENT: value.decode("ascii", "replace")})
        span_context = trace.get_current_span(context).get_span_context()
        if span_context.is_valid:
            contexts.append((context, Link(span_context)))
    parent = contexts[0][0] if len(contexts) == 1 else Context()
    return parent, [link for _, link in contexts]
