"""Landing benchmark: the pipeline alone (pre-filled raw topic -> PostgreSQL), events/s and
µs/event per step, next to the floor measured in the same run: raw consume + decode + binary
COPY of the same rows into a table of the same shape.

    python bench/process.py [--events 200000] [--batch-size 20] [--workers 1] [--backend auto] [--record]

Uses its own topic prefix and database schema (created fresh each run).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import append_results, backend_option, fresh_deployment, landed_events, schema_backend  # noqa: E402

METRICS_PORT_BASE = 19464


def prefill(settings, events: int, batch_size: int) -> int:
    from confluent_kafka import Producer

    from operations.simulate import Simulator
    from ingest.batching import group_by_player
    from ingest.validation import validate_batch
    from schemas.catalog import load_catalog
    from schemas.ids import schema_ids
    from schemas.wire import AvroSerializer
    from streams.topics import RAW_EVENTS

    topic = settings.topic(RAW_EVENTS.name)
    serializer = AvroSerializer(schema_ids(settings.schema_registry_url), topic, load_catalog().latest("EventBatch"))
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap_servers, "acks": "all", "linger.ms": 20,
                         "compression.type": "lz4", "queue.buffering.max.messages": 1_000_000})
    sim = Simulator(players=20_000, seed=7)
    messages = 0
    sent = 0
    while sent < events:
        now = int(time.time() * 1000)
        accepted, _ = validate_batch(sim.next_events(min(batch_size, events - sent), now), now, now)
        for key, batch in group_by_player(accepted, "bench-game", now, now, None):
            producer.produce(topic, key=key, value=serializer.encode(batch))
            messages += 1
            sent += len(batch["events"])
        producer.poll(0)
    producer.flush(120)
    return messages


def scrape_steps(port: int) -> dict[str, float]:
    import httpx

    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return {m.group(1): float(m.group(2)) for m in re.finditer(r'gamemetrics_landing_step_seconds_total\{step="(\w+)"\} ([0-9.e+-]+)', text)}


def run_pipeline(settings, expected: int, workers: int) -> tuple[float, dict[str, float]]:
    from gamemetrics.envvars import settings_env

    procs = []
    for i in range(workers):
        env = {**os.environ, **settings_env(settings), "GAMEMETRICS_WORKER_METRICS_PORT": str(METRICS_PORT_BASE + i),
               "GAMEMETRICS_LOG_LEVEL": "warning"}
        procs.append(subprocess.Popen([sys.executable, "-m", "operations", "worker"], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
    try:
        while landed_events(settings) == 0:
            time.sleep(0.05)
        started = time.perf_counter()
        while landed_events(settings) < expected:
            time.sleep(0.1)
        elapsed = time.perf_counter() - started
        steps: dict[str, float] = {}
        for i in range(workers):
            for step, seconds in scrape_steps(METRICS_PORT_BASE + i).items():
                steps[step] = steps.get(step, 0.0) + seconds
        return elapsed, steps
    finally:
        for p in procs:
            os.killpg(p.pid, 15)
            p.wait()


def floor(settings, expected_messages: int) -> tuple[float, int]:
    """Consume every raw message, decode it and COPY its rows (binary) into a plain table."""
    from confluent_kafka import Consumer
    from psycopg.types.json import Jsonb

    from store import db
    from processors.decode import BatchDecoder
    from schemas.ids import schema_ids
    from streams.topics import RAW_EVENTS

    cols = "event_id, event_time, game_id, player_id, event_type, client_ts, received_at, session_id, platform, app_version, country, properties, batch_id"
    # the decoder gives what the pipeline stages: ids as text, times as epoch ms
    types = ["text", "int8", "text", "text", "text", "int8", "int8", "text", "text", "text", "text", "jsonb", "text"]
    decoder = BatchDecoder(schema_ids(settings.schema_registry_url))
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap_servers, "group.id": f"floor-{uuid.uuid4()}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([settings.topic(RAW_EVENTS.name)])
    with db.connect(settings) as conn:
        conn.execute("CREATE TABLE floor_events (event_id text, event_time int8, game_id text, player_id text, "
                     "event_type text, client_ts int8, received_at int8, session_id text, platform text, "
                     "app_version text, country text, properties jsonb, batch_id text)")
        conn.execute("ALTER TABLE floor_events ADD PRIMARY KEY (event_id, event_time)")
        conn.commit()
        seen = 0
        rows_total = 0
        started = time.perf_counter()
        while seen < expected_messages:
            batch = consumer.consume(500, timeout=1.0)
            rows = []
            for message in batch:
                if message.error():
                    continue
                seen += 1
                b = decoder.decode(message.value())
                rows += [(e["event_id"], e["event_time"], b["game_id"], e["player_id"], e["event_type"], e["ts"],
                          b["received_at"], e["session_id"], e["platform"], e["app_version"], e["country"],
                          Jsonb(e["properties"]), b["batch_id"]) for e in b["events"]]
            if rows:
                with conn.cursor() as cur, cur.copy(f"COPY floor_events ({cols}) FROM STDIN (FORMAT BINARY)") as copy:
                    copy.set_types(types)
                    for row in rows:
                        copy.write_row(row)
                conn.commit()
                rows_total += len(rows)
        elapsed = time.perf_counter() - started
    consumer.close()
    return elapsed, rows_total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch-size", type=int, default=20, help="events per Kafka message (per request and player)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--record", action="store_true", help="append the results to bench/RESULTS.md")
    backend_option(parser)
    args = parser.parse_args()

    stack, settings = fresh_deployment("bench-process.", "bench_process", args.backend)
    backend = schema_backend(settings)
    print(f"pre-filling {args.events:,} events ...", flush=True)
    messages = prefill(settings, args.events, args.batch_size)
    elapsed, steps = run_pipeline(settings, args.events, args.workers)
    rate = args.events / elapsed
    per_event = {step: seconds / args.events * 1e6 for step, seconds in steps.items()}
    floor_s, floor_rows = floor(settings, messages)
    floor_rate = floor_rows / floor_s
    print(f"landing pipeline: {args.events:,} events in {elapsed:.1f} s = {rate:,.0f} events/s "
          f"({args.workers} worker(s), {messages:,} messages of {args.batch_size} events, store backend {backend})")
    print("  µs/event by step: " + ", ".join(f"{k} {v:.1f}" for k, v in per_event.items()))
    print(f"floor (consume + decode + binary COPY, 1 process): {floor_rows:,} rows in {floor_s:.1f} s = {floor_rate:,.0f} events/s")
    if args.record:
        append_results("Landing (bench/process.py)", [
            f"`python bench/process.py --events {args.events} --batch-size {args.batch_size} --workers {args.workers}"
            f" --backend {args.backend}` (player_events: {backend}); "
            "2 cores shared with Kafka and PostgreSQL.",
            "",
            "| what | events/s | notes |",
            "|---|---:|---|",
            f"| landing pipeline | {rate:,.0f} | {args.workers} worker(s); µs/event: "
            + ", ".join(f"{k} {v:.1f}" for k, v in per_event.items()) + " |",
            f"| floor: consume + decode + COPY | {floor_rate:,.0f} | same messages, one process, table with the same primary key |",
        ])


if __name__ == "__main__":
    main()
