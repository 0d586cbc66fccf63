"""Avro codec benchmark: µs per event to encode and decode EventBatch and ProcessedEventBatch bodies,
fastavro (the reference) against the native codec (native/gamemetrics_avro), CPU time, best of
several rounds. No services needed.

    python bench/codec.py [--batches 200] [--events 100] [--rounds 7] [--record]

Batches are made as the ingest makes them (simulated, validated, grouped per player: one player
per request, so one batch of ``--events`` events); ProcessedEventBatch (latest version) as the
landing worker publishes them (enriched, all events new). Bodies are checked byte-identical first.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import append_results  # noqa: E402

USD_PER_UNIT = {"USD": 1.0, "EUR": 1.08, "GBP": 1.27, "JPY": 0.0067, "BRL": 0.2}
NOW_MS = 1_795_000_000_000


def event_batches(count: int, events: int) -> list[dict[str, Any]]:
    from operations.simulate import Simulator
    from ingest.batching import group_by_player
    from ingest.validation import validate_batch

    sim = Simulator(players=1000, seed=1)
    batches: list[dict[str, Any]] = []
    while len(batches) < count:
        raw = sim.next_events(events, NOW_MS)
        accepted, rejected = validate_batch(raw, NOW_MS, None)
        if rejected:
            raise SystemExit(f"simulated events rejected by the ingest validation: {rejected[:1]}")
        batches += [batch for _, batch in group_by_player(accepted, "bench-game", NOW_MS, None, None)]
    return batches[:count]


def processed_batches(batches: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from processors.enrich import State, enrich_batch
    from processors.publish import processed_batch

    state = State()
    return [processed_batch(b, enrich_batch(b, b["events"], state, USD_PER_UNIT), NOW_MS + 500) for b in batches]


def best_cpu(fn: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def measure(version: Any, records: list[dict[str, Any]], native: Any, rounds: int) -> list[tuple[str, float, float]]:
    from fastavro import schemaless_reader, schemaless_writer

    plain = version.plain
    events = sum(len(r["events"]) for r in records)

    def fastavro_encode() -> list[bytes]:
        out = []
        for r in records:
            buf = io.BytesIO()
            schemaless_writer(buf, plain, r)
            out.append(buf.getvalue())
        return out

    bodies = fastavro_encode()
    if native is not None:
        mismatched = sum(native.encode(r) != b for r, b in zip(records, bodies))
        if mismatched:
            raise SystemExit(f"{version.name}: {mismatched} native bodies differ from fastavro's; not benchmarking")

    def fastavro_decode_kept() -> list[Any]:
        return [schemaless_reader(io.BytesIO(b), plain, None) for b in bodies]

    def fastavro_decode_dropped() -> None:
        for b in bodies:
            schemaless_reader(io.BytesIO(b), plain, None)

    def native_decode_dropped() -> None:
        for b in bodies:
            native.decode(b)

    # "kept": every decoded batch stays alive until the round ends, as a worker keeps a poll's
    # batches until they are written (the heap grows: the slower, realistic figure); "dropped":
    # each one is freed at once (hot allocator: the floor).
    rows = []
    for op, ref, fast in [
        ("encode", fastavro_encode, (lambda: [native.encode(r) for r in records]) if native else None),
        ("decode, kept", fastavro_decode_kept, (lambda: [native.decode(b) for b in bodies]) if native else None),
        ("decode, dropped", fastavro_decode_dropped, native_decode_dropped if native else None),
    ]:
        ref_us = best_cpu(ref, rounds) / events * 1e6
        fast_us = best_cpu(fast, rounds) / events * 1e6 if fast else float("nan")
        rows.append((op, ref_us, fast_us))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--events", type=int, default=100, help="events per batch")
    parser.add_argument("--rounds", type=int, default=7, help="best of this many rounds")
    parser.add_argument("--record", action="store_true", help="append the figures to bench/RESULTS.md")
    args = parser.parse_args()

    from schemas.catalog import load_catalog, without_logical_types

    try:
        import gamemetrics_avro
    except ImportError:
        gamemetrics_avro = None
        print("native codec not installed (pip install ./native/gamemetrics_avro): fastavro only")

    catalog = load_catalog()
    batches = event_batches(args.batches, args.events)
    cases = [(catalog.latest("EventBatch"), batches), (catalog.latest("ProcessedEventBatch"), processed_batches(batches))]
    events = sum(len(b["events"]) for b in batches)
    lines = [
        f"{args.batches} batches x {args.events} events ({events} events), CPU µs per event, best of {args.rounds}",
        "",
        "| schema | op | fastavro | native | speed-up |",
        "|---|---|---:|---:|---:|",
    ]
    for version, records in cases:
        native = None
        if gamemetrics_avro is not None:
            native = gamemetrics_avro.Codec(json.dumps(without_logical_types(version.schema)))
        for op, ref_us, fast_us in measure(version, records, native, args.rounds):
            lines.append(
                f"| {version.name} v{version.version} | {op} | {ref_us:.2f} | {fast_us:.2f} | {ref_us / fast_us:.1f}x |"
            )
    print("\n".join(lines))
    if args.record:
        append_results("Avro codec (bench/codec.py)", lines)


if __name__ == "__main__":
    main()
