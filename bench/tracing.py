"""Tracing cost in CPU time, off vs on, on the real code paths that tracing touches (no services).

    python bench/tracing.py [--messages 500] [--events-per-message 20] [--repeat 5]

  landing   ``LandingSteps.run`` over the in-memory seam (processors/memory.py), one group of
            ``--messages`` messages per run, each message carrying its request's traceparent:
            off (no ``Tracing``), on with no exporter (OTEL_TRACES_EXPORTER=none: spans made and
            dropped), on with a BatchSpanProcessor to an exporter that discards (the SDK's work
            up to the wire), the same with parentbased_traceidratio 0.05 (the chart's default).
            CPU µs per group and per event, best of ``--repeat``. The messages' traceparents are
            all sampled, so the landing spans are recorded in every mode (the worst case).
  ingest    what a traced POST /v1/events adds (ingest/app.py): a server span, a producer span,
            the traceparent header for its messages, the attributes; CPU µs per request.

CPU time (``time.process_time``) rather than wall time, so a busy shared machine changes the
figures less; the BatchSpanProcessor's export thread is counted (same process).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult  # noqa: E402

from gamemetrics.tracing import Tracing, kafka_headers, trace_parent  # noqa: E402


class Discard(SpanExporter):
    def export(self, spans):  # noqa: ANN001 - SDK signature
        return SpanExportResult.SUCCESS


def providers() -> dict[str, Tracing | None]:
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    batched = TracerProvider()
    batched.add_span_processor(BatchSpanProcessor(Discard()))
    sampled = TracerProvider(sampler=ParentBased(TraceIdRatioBased(0.05)))
    sampled.add_span_processor(BatchSpanProcessor(Discard()))
    return {"off": None, "on, exporter none": Tracing(TracerProvider()), "on, batch processor": Tracing(batched),
            "on, batch, 5 % sampled": Tracing(sampled)}


def groups(count: int, messages: int, per_message: int) -> list[list]:
    """``count`` groups of raw messages as the ingest writes them, each from its own request (its own
    traceparent): the most links a group can have."""
    from ingest.batching import group_by_player
    from ingest.validation import validate_batch
    from operations.simulate import Simulator
    from processors.landing import Message
    from schemas.catalog import load_catalog
    from schemas.ids import CatalogIds
    from schemas.wire import AvroSerializer
    from streams.topics import RAW_EVENTS

    serializer = AvroSerializer(CatalogIds(), "raw", load_catalog().latest(RAW_EVENTS.value_schema), logical=False)
    sim = Simulator(players=50_000, seed=11)
    out = []
    for _ in range(count):
        group = []
        while len(group) < messages:
            now = int(time.time() * 1000)
            accepted, _ = validate_batch(sim.next_events(per_message, now), now, now)
            for key, batch in group_by_player(accepted, "bench-game", now, now, None):
                parent = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01".encode()
                group.append(Message("raw", 0, len(group), key, serializer.encode(batch), parent))
        out.append(group[:messages])
    return out


def bench_landing(messages: int, per_message: int, repeat: int) -> dict[str, float]:
    from processors.landing import LandingSteps, Message
    from processors.memory import InMemoryPublisher, InMemorySink
    from schemas.ids import CatalogIds

    modes = providers()
    best = dict.fromkeys(modes, float("inf"))
    data = groups(repeat + 1, messages, per_message)
    for round_, group in enumerate(data):  # the modes interleaved, so a busy moment hits them alike
        for name, tracing in modes.items():
            steps = LandingSteps(CatalogIds(), InMemorySink(), InMemoryPublisher(), tracing=tracing)
            # the worker builds messages without headers when tracing is off
            batch = group if tracing is not None else [Message(m.topic, m.partition, m.offset, m.key, m.value)
                                                       for m in group]
            started = time.process_time()
            outcome = asyncio.run(steps.run(batch))
            if round_:  # the first round warms up
                best[name] = min(best[name], time.process_time() - started)
            assert outcome.landed + sum(outcome.dead_letters.values()) == outcome.events, outcome
    for tracing in modes.values():
        if tracing is not None:
            tracing.provider.force_flush()
    return best


def bench_ingest(requests: int) -> dict[str, float]:
    """The tracing part of ingest/app.py's post_events, alone (the request work itself is not traced code)."""
    from opentelemetry.trace import SpanKind, get_current_span

    from ingest.app import SERVER_SPAN, SERVER_SPAN_ATTRIBUTES

    results = {}
    for name, tracing in providers().items():
        started = time.process_time()
        if tracing is not None:
            tracer = tracing.tracer("ingest")
            for _ in range(requests):
                with tracer.start_as_current_span(SERVER_SPAN, kind=SpanKind.SERVER, attributes=SERVER_SPAN_ATTRIBUTES,
                                                  record_exception=False, set_status_on_exception=False) as span:
                    with tracer.start_as_current_span("send raw", kind=SpanKind.PRODUCER, attributes={
                        "messaging.system": "kafka", "messaging.operation.type": "send",
                        "messaging.destination.name": "raw", "messaging.batch.message_count": 30,
                    }):
                        headers = kafka_headers()
                        _ = [headers] * 30
                    get_current_span().set_attributes({"gamemetrics.game_id": "g", "gamemetrics.events.accepted": 100,
                                                       "gamemetrics.events.rejected": 0, "gamemetrics.kafka.messages": 30})
                    span.set_attribute("http.response.status_code", 200)
            tracing.provider.force_flush()
        results[name] = (time.process_time() - started) / requests
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=500, help="Messages per landing group (the worker's take_max_messages).")
    parser.add_argument("--events-per-message", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--requests", type=int, default=20_000, help="Traced ingest requests to time.")
    args = parser.parse_args()
    from gamemetrics.logs import configure_logging
    from gamemetrics.settings import load_settings

    configure_logging(load_settings(log_level="error"))  # the seam dead-letters unknown currencies: not news here

    landing = bench_landing(args.messages, args.events_per_message, args.repeat)
    events = args.messages * args.events_per_message
    print(f"landing, one group of {args.messages} messages x ~{args.events_per_message} events (CPU, best of {args.repeat}):")
    for name, seconds in landing.items():
        extra = seconds - landing["off"]
        print(f"  {name:<22} {seconds * 1e3:8.2f} ms/group  {seconds / events * 1e6:6.2f} µs/event"
              f"  (+{extra * 1e6 / args.messages:6.1f} µs/message over off)")
    ingest = bench_ingest(args.requests)
    print(f"ingest, the tracing of one POST /v1/events (CPU, {args.requests} requests):")
    for name, seconds in ingest.items():
        print(f"  {name:<22} {seconds * 1e6:8.1f} µs/request")
    print(f"  trace_parent() of one message's headers: {_per_call(lambda: trace_parent([('traceparent', b'x')])):.2f} µs")


def _per_call(fn, n: int = 200_000) -> float:
    started = time.process_time()
    for _ in range(n):
        fn()
    return (time.process_time() - started) / n * 1e6


if __name__ == "__main__":
    main()
