"""Tracing (gamemetrics/tracing.py): off by default; on, one event's spans link up from the HTTP request
through Kafka to the landing transaction.

The in-process tests hand the services a ``Tracing`` on an SDK provider with the in-memory exporter
(the real ingest app, the real Kafka and PostgreSQL); the end-to-end test runs the real commands
with OTEL_TRACES_EXPORTER=otlp and reads what they export from an OTLP/HTTP receiver of its own.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from confluent_kafka import Consumer
from fastapi.testclient import TestClient
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, format_span_id, format_trace_id

from gamemetrics.errors import TracingConfigError
from gamemetrics.settings import Settings, TracingSettings
from gamemetrics.tracing import TRACEPARENT, Tracing, configure_tracing, producer_links, trace_parent
from ingest.app import create_app
from ingest.settings import IngestSettings
from processors.landing import LandingSteps, Message
from processors.postgres_sink import PostgresSink
from processors.publisher import KafkaPublisher
from schemas.ids import schema_ids
from schemas.wire import plain_codec
from store import db
from streams.producer import EventProducer
from streams.topics import RAW_EVENTS
from tests.helpers import an_event, new_key
from tests.services import running_ingest, running_worker, wait_for

SAMPLE_PARENT = b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


# --- off by default, and what turns it on ---------------------------------------------------------

def test_tracing_is_off_unless_an_exporter_is_named():
    assert not TracingSettings().enabled
    assert configure_tracing("gamemetrics-test", TracingSettings()) is None
    assert TracingSettings(traces_exporter="otlp").enabled
    assert TracingSettings(traces_exporter="none").exporters == ["none"]
    assert not TracingSettings(traces_exporter="otlp", sdk_disabled=True).enabled


def test_the_standard_variables_are_read(monkeypatch):
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp, console")
    monkeypatch.setenv("OTEL_SDK_DISABLED", "false")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "ingest-eu")
    settings = TracingSettings()
    assert settings.enabled and settings.exporters == ["otlp", "console"] and settings.service_name == "ingest-eu"
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert not TracingSettings().enabled


@pytest.mark.parametrize("settings, fragment", [
    (TracingSettings(traces_exporter="zipkin"), "unknown exporter 'zipkin'"),
    (TracingSettings(traces_exporter="otlp", exporter_otlp_protocol="grpc"), "only http/protobuf"),
    (TracingSettings(traces_exporter="otlp", exporter_otlp_traces_protocol="grpc"), "only http/protobuf"),
])
def test_an_exporter_we_do_not_have_is_refused_at_start_up(settings, fragment):
    with pytest.raises(TracingConfigError, match=fragment):
        configure_tracing("gamemetrics-test", settings)


def test_trace_parent_reads_kafka_headers_as_pairs_or_a_mapping():
    assert trace_parent([("game_id", b"g1"), (TRACEPARENT, SAMPLE_PARENT)]) == SAMPLE_PARENT
    assert trace_parent({TRACEPARENT: SAMPLE_PARENT}) == SAMPLE_PARENT
    assert trace_parent([("game_id", b"g1")]) is None
    assert trace_parent(None) is None


def test_one_producer_context_is_the_parent_several_are_links():
    other = b"00-11111111111111111111111111111111-2222222222222222-01"
    parent, links = producer_links([SAMPLE_PARENT, SAMPLE_PARENT, None])
    assert [format_trace_id(link.context.trace_id) for link in links] == ["0af7651916cd43dd8448eb211c80319c"]
    assert format_span_id(trace.get_current_span(parent).get_span_context().span_id) == "b7ad6b7169203331"
    parent, links = producer_links([SAMPLE_PARENT, other, b"garbage"])
    assert len(links) == 2
    assert not trace.get_current_span(parent).get_span_context().is_valid  # a new root, linked to both


# --- in process: ingest -> Kafka -> landing, on the real services -------------------------------

def in_memory() -> tuple[Tracing, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return Tracing(provider), exporter


def post_one_event(settings: Settings, tracing: Tracing | None) -> dict:
    _, key = new_key(settings)
    event = an_event(player_id=f"p-{uuid.uuid4().hex[:6]}")
    app = create_app(settings, IngestSettings(), plain_codec(settings.avro_codec), tracing=tracing)
    with TestClient(app) as client:
        response = client.post("/v1/events", json={"events": [event]}, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 1, "rejected": []}
    return event


def raw_messages(settings: Settings, expect: int) -> list:
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap_servers, "group.id": f"trace-{uuid.uuid4()}",
                         "auto.offset.reset": "earliest"})
    consumer.subscribe([settings.topic(RAW_EVENTS.name)])
    found = []
    try:
        deadline = time.monotonic() + 30
        while len(found) < expect and time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is not None and not message.error():
                found.append(message)
    finally:
        consumer.close()
    assert len(found) == expect, f"{len(found)} of {expect} raw messages"
    return found


def land(settings: Settings, tracing: Tracing, messages: list[Message]):
    async def run():
        producer = EventProducer(settings.kafka_bootstrap_servers)
        sink = PostgresSink(settings)
        try:
            steps = LandingSteps(schema_ids(settings.schema_registry_url), sink, KafkaPublisher(settings, producer),
                                 plain_codec(settings.avro_codec), tracing)
            return await steps.run(messages)
        finally:
            await sink.close()
            producer.close()

    return asyncio.run(run())


@pytest.mark.integration
def test_one_event_is_one_trace_from_the_request_through_kafka_to_the_landing_transaction(isolated):
    tracing, exporter = in_memory()
    event = post_one_event(isolated, tracing)

    [raw] = raw_messages(isolated, 1)
    header = trace_parent(raw.headers())
    assert header is not None and len(header) == 55, raw.headers()  # the W3C traceparent, and nothing heavier
    assert [name for name, _ in raw.headers()] == [TRACEPARENT]

    ingest_spans = {span.name: span for span in exporter.get_finished_spans()}
    server, producer = ingest_spans["POST /v1/events"], ingest_spans[f"send {isolated.topic(RAW_EVENTS.name)}"]
    assert server.kind == SpanKind.SERVER and producer.kind == SpanKind.PRODUCER
    assert producer.parent.span_id == server.context.span_id
    assert server.attributes["http.response.status_code"] == 200
    assert server.attributes["gamemetrics.events.accepted"] == 1
    version, trace_id, span_id, flags = header.decode().split("-")
    assert (trace_id, span_id) == (format_trace_id(producer.context.trace_id), format_span_id(producer.context.span_id))
    assert int(flags, 16) & 1  # sampled
    exporter.clear()

    message = Message(raw.topic(), raw.partition(), raw.offset(), raw.key(), raw.value(), trace_parent(raw.headers()))
    outcome = land(isolated, tracing, [message])
    assert outcome.landed == 1
    with db.connect(isolated) as conn:
        assert conn.execute("SELECT count(*) FROM player_events WHERE event_id = %s", (event["event_id"],)).fetchone() == (1,)

    spans = exporter.get_finished_spans()
    [landing] = [s for s in spans if s.kind == SpanKind.CONSUMER]
    assert landing.context.trace_id == server.context.trace_id  # one trace, request to transaction
    assert landing.parent.span_id == producer.context.span_id  # one message: its producer is the parent
    assert [link.context.span_id for link in landing.links] == [producer.context.span_id]
    assert landing.attributes["gamemetrics.events.landed"] == 1
    steps = {s.name for s in spans if s.parent is not None and s.parent.span_id == landing.context.span_id}
    assert {"landing.decode", "landing.validate", "landing.dedup", "landing.enrich", "landing.land",
            "landing.publish", "landing.commit"} <= steps


@pytest.mark.integration
def test_two_requests_landed_together_are_linked_not_parented(isolated):
    tracing, exporter = in_memory()
    post_one_event(isolated, tracing)
    post_one_event(isolated, tracing)
    producers = {s.context.span_id for s in exporter.get_finished_spans() if s.kind == SpanKind.PRODUCER}
    exporter.clear()
    messages = [Message(r.topic(), r.partition(), r.offset(), r.key(), r.value(), trace_parent(r.headers()))
                for r in raw_messages(isolated, 2)]
    assert land(isolated, tracing, messages).landed == 2
    [landing] = [s for s in exporter.get_finished_spans() if s.kind == SpanKind.CONSUMER]
    assert landing.parent is None  # a batch of two requests starts its own trace ...
    assert {link.context.span_id for link in landing.links} == producers  # ... linked to both


@pytest.mark.integration
def test_with_tracing_off_no_trace_header_is_written(isolated):
    post_one_event(isolated, None)
    [raw] = raw_messages(isolated, 1)
    assert not raw.headers()


# --- end to end: the real commands, configured by the standard variables ------------------------

class OtlpReceiver:
    """An OTLP/HTTP trace receiver on 127.0.0.1: keeps every span it is sent, by service name."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, object]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server hook
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = ExportTraceServiceRequest.FromString(body)
                with receiver._lock:
                    for resource_spans in request.resource_spans:
                        service = next(a.value.string_value for a in resource_spans.resource.attributes
                                       if a.key == "service.name")
                        for scope_spans in resource_spans.scope_spans:
                            receiver.spans.extend((service, span) for span in scope_spans.spans)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> OtlpReceiver:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def of(self, service: str) -> list:
        with self._lock:
            return [span for name, span in self.spans if name == service]


@pytest.fixture
def otlp() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as receiver:
        yield receiver


@pytest.mark.integration
def test_the_services_export_one_linked_trace_over_otlp(isolated, tmp_path, otlp):
    import httpx

    env = {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.url, "OTEL_BSP_SCHEDULE_DELAY": "100"}
    _, key = new_key(isolated)
    with running_ingest(isolated, tmp_path, env) as url, running_worker(isolated, tmp_path, extra_env=env):
        response = httpx.post(f"{url}/v1/events", json={"events": [an_event()]},
                              headers={"Authorization": f"Bearer {key}"}, timeout=30)
        assert response.status_code == 200, response.text
        [server] = wait_for(lambda: [s for s in otlp.of("gamemetrics-ingest") if s.name == "POST /v1/events"],
                            what="the ingest's server span")
        landing = wait_for(lambda: [s for s in otlp.of("gamemetrics-worker") if s.name.startswith("process ")
                                    and s.trace_id == server.trace_id], timeout_s=90,
                           what=f"the worker's landing span in the request's trace; worker log: {tmp_path / 'worker.log'}")
    [producer] = [s for s in otlp.of("gamemetrics-ingest") if s.name.startswith("send ")]
    assert landing[0].parent_span_id == producer.span_id
    assert [link.span_id for link in landing[0].links] == [producer.span_id]
