"""Ingest benchmark: HTTP events/s and latency at several batch sizes, next to the raw
confluent-kafka producer floor measured in the same run.

    python bench/ingest.py [--batch-sizes 1,10,100] [--duration 15] [--ingest-workers 2] [--record]
                           [--protocols ours,segment,gameanalytics]

Brings up (or reuses) the local stack, starts its own ingest service (N processes, a rate limit
high enough not to be what is measured) unless --url/--api-key name one, and drives it from
separate client processes (aiohttp, closed loop, bodies built before the clock starts).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import append_results, cpu_used, fresh_deployment, tree_cpu_seconds  # noqa: E402
from operations.loadgen import percentile  # noqa: E402

BODIES_PER_CLIENT = 2000


def iso(ms: int) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def as_segment(events: list[dict], sent_at_ms: int) -> dict:
    """The simulator's events as a Segment /v1/batch body, as analytics-python would send them."""
    batch = []
    for e in events:
        props = dict(e["properties"])
        name = e["event_type"]
        if name == "purchase":
            name, props = "Order Completed", {"order_id": e["event_id"], "revenue": props["amount"],
                                              "currency": props["currency"], "products": [{"product_id": props["item_id"]}]}
        batch.append({"type": "track", "messageId": e["event_id"], "userId": e["player_id"], "event": name,
                      "timestamp": iso(e["ts"]), "properties": props,
                      "context": {"app": {"version": e["app_version"]}, "os": {"name": e["platform"]},
                                  "library": {"name": "analytics-python", "version": "2.4.0"}}})
    return {"batch": batch, "sentAt": iso(sent_at_ms)}


def as_gameanalytics(events: list[dict]) -> list[dict]:
    """The simulator's events as a GameAnalytics /v2/{game_key}/events body, as its JS SDK would send them."""
    out = []
    for e in events:
        props = e["properties"]
        ga = {"v": 2, "event_uuid": e["event_id"], "user_id": e["player_id"], "client_ts": e["ts"] // 1000,
              "sdk_version": "javascript 4.4.7", "os_version": f"{e['platform']} 10", "manufacturer": "unknown",
              "device": "unknown", "platform": e["platform"], "session_id": e["session_id"], "session_num": 1,
              "build": e["app_version"]}
        kind = e["event_type"]
        if kind == "session_start":
            ga["category"] = "user"
        elif kind == "progression":
            ga.update(category="progression", event_id=f"{props['status'].capitalize()}:level{props['level']}")
        elif kind == "resource":
            ga.update(category="resource", event_id=f"{props['flow'].capitalize()}:{props['currency']}:loot:chest",
                      amount=props["amount"])
        elif kind == "purchase":
            ga.update(category="business", event_id=f"iap:{props['item_id']}", amount=round(props["amount"] * 100),
                      currency=props["currency"], transaction_num=1)
        else:
            ga.update(category="design", event_id=kind.replace("_", ":"), custom_fields=dict(props))
        out.append(ga)
    return out


def make_bodies(batch_size: int, count: int, seed: int, protocol: str = "ours") -> list[bytes]:
    import orjson

    from operations.simulate import Simulator

    sim = Simulator(players=5000, seed=seed)
    now = int(time.time() * 1000)
    bodies = []
    for _ in range(count):
        events = sim.next_events(batch_size, now)
        if protocol == "segment":
            bodies.append(orjson.dumps(as_segment(events, now)))
        elif protocol == "gameanalytics":
            bodies.append(orjson.dumps(as_gameanalytics(events)))
        else:
            bodies.append(orjson.dumps({"sent_at": now, "events": events}))
    return bodies


def target(protocol: str, key: str) -> tuple[str, dict[str, str], str | None]:
    """(path, headers, GameAnalytics secret or None) of ``protocol``; ``key``: the API key, or for
    gameanalytics ``game_key:secret_key`` (each body is then signed before the clock starts)."""
    import base64

    if protocol == "segment":
        return "/v1/batch", {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}, None
    if protocol == "gameanalytics":
        game_key, secret = key.split(":", 1)
        return f"/v2/{game_key}/events", {}, secret
    return "/v1/events", {"Authorization": f"Bearer {key}"}, None


def client_process(url: str, key: str, batch_size: int, duration: float, concurrency: int, seed: int,
                   ready: mp.Queue, go, out: mp.Queue, protocol: str = "ours") -> None:
    import aiohttp

    from ingest.gameanalytics import signature

    bodies = make_bodies(batch_size, BODIES_PER_CLIENT, seed, protocol)
    path, auth, secret = target(protocol, key)
    signatures = [signature(secret, b) for b in bodies] if secret else None
    ready.put(seed)
    go.wait()

    async def run() -> tuple[int, int, list[float]]:
        latencies: list[float] = []
        errors = 0
        headers = {**auth, "Content-Type": "application/json"}
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(url, headers=headers, connector=connector) as session:
            deadline = time.perf_counter() + duration
            counter = 0

            async def worker(offset: int) -> None:
                nonlocal errors, counter
                i = offset
                while time.perf_counter() < deadline:
                    body = bodies[i % len(bodies)]
                    extra = {"Authorization": signatures[i % len(bodies)]} if signatures else None
                    i += concurrency
                    started = time.perf_counter()
                    async with session.post(path, data=body, headers=extra) as response:
                        await response.read()
                        if response.status == 200:
                            latencies.append(time.perf_counter() - started)
                        else:
                            errors += 1
                    counter += 1

            await asyncio.gather(*(worker(k) for k in range(concurrency)))
        return len(latencies), errors, latencies

    ok, errors, latencies = asyncio.run(run())
    out.put((ok, errors, latencies))


def drive(url: str, key: str, batch_size: int, duration: float, clients: int, concurrency: int,
          server_pid: int | None = None, protocol: str = "ours") -> dict:
    """Closed-loop load for ``duration`` s; with ``server_pid``, also the CPU its process tree used
    meanwhile (sampled once every client has built its bodies, so body generation is not counted)."""
    out: mp.Queue = mp.Queue()
    ready: mp.Queue = mp.Queue()
    go = mp.Event()
    procs = [
        mp.Process(target=client_process, args=(url, key, batch_size, duration, concurrency, seed, ready, go, out, protocol))
        for seed in range(clients)
    ]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get()
    steps_before = step_seconds(url)
    cpu_before = tree_cpu_seconds(server_pid) if server_pid else {}
    go.set()
    results = [out.get() for _ in procs]
    cpu_s = cpu_used(cpu_before, tree_cpu_seconds(server_pid)) if server_pid else float("nan")
    steps_after = step_seconds(url)
    for p in procs:
        p.join()
    ok = sum(r[0] for r in results)
    errors = sum(r[1] for r in results)
    latencies = sorted(l for r in results for l in r[2])
    return {
        "batch": batch_size, "requests_s": ok / duration, "events_s": ok * batch_size / duration,
        "p50_ms": percentile(latencies, 50) * 1000, "p99_ms": percentile(latencies, 99) * 1000, "errors": errors,
        "cpu_us_event": cpu_s / max(1, ok * batch_size) * 1e6, "cpu_us_request": cpu_s / max(1, ok) * 1e6,
        "steps_us_event": {
            step: (seconds - steps_before.get(step, 0.0)) / max(1, ok * batch_size) * 1e6
            for step, seconds in steps_after.items()
        },
    }


def step_seconds(url: str) -> dict[str, float]:
    """``gamemetrics_ingest_step_seconds_total`` by step, summed over the ingest processes (empty
    when the service does not export it)."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    try:
        text = httpx.get(f"{url}/metrics", timeout=5).text
    except httpx.HTTPError:
        return {}
    return {
        sample.labels["step"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "gamemetrics_ingest_step_seconds_total"
    }


def producer_floor(bootstrap: str, topic: str, batch_size: int, duration: float) -> dict:
    """The same EventBatch messages produced with the ingest's producer settings, no HTTP."""
    from confluent_kafka import Producer

    import orjson

    from ingest.batching import group_by_player
    from ingest.validation import validate_batch
    from schemas.catalog import load_catalog
    from schemas.ids import schema_ids
    from schemas.wire import AvroSerializer

    serializer = AvroSerializer(schema_ids(""), topic, load_catalog().latest("EventBatch"))
    messages = []
    for body in make_bodies(batch_size, 500, seed=99):
        envelope = orjson.loads(body)
        accepted, _ = validate_batch(envelope["events"], int(time.time() * 1000), envelope["sent_at"])
        for key, batch in group_by_player(accepted, "bench", int(time.time() * 1000), envelope["sent_at"], None):
            messages.append((key, serializer.encode(batch)))
    producer = Producer({
        "bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
        "linger.ms": 5, "compression.type": "lz4", "queue.buffering.max.messages": 1_000_000,
    })
    acked = 0

    def on_delivery(err, _msg):
        nonlocal acked
        if err is None:
            acked += 1

    deadline = time.perf_counter() + duration
    started = time.perf_counter()
    i = 0
    while time.perf_counter() < deadline:
        key, value = messages[i % len(messages)]
        try:
            producer.produce(topic, value=value, key=key, on_delivery=on_delivery)
        except BufferError:
            producer.poll(0.01)
            continue
        i += 1
        if i % 1000 == 0:
            producer.poll(0)
    producer.flush(60)
    elapsed = time.perf_counter() - started
    return {"batch": batch_size, "messages_s": acked / elapsed, "events_s": acked * batch_size / elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-sizes", default="1,10,100", help="events per request, comma separated")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per measurement")
    parser.add_argument("--ingest-workers", type=int, default=2, help="ingest server processes to start")
    parser.add_argument("--server", choices=("uvicorn", "granian"), default="uvicorn", help="HTTP server of the ingest started here")
    parser.add_argument("--clients", type=int, default=1, help="client processes")
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight per client process")
    parser.add_argument("--url", default="", help="use this running ingest instead of starting one")
    parser.add_argument("--api-key", default="", help="API key for --url")
    parser.add_argument("--pid", type=int, default=0, help="with --url: measure the CPU of this process tree (the serve command)")
    parser.add_argument("--port", type=int, default=18080, help="port of the ingest started here")
    parser.add_argument("--skip-floor", action="store_true", help="do not measure the raw producer floor")
    parser.add_argument("--record", action="store_true", help="append the results to bench/RESULTS.md")
    parser.add_argument("--protocols", default="ours",
                        help="bodies to send, comma separated: ours (/v1/events), segment (/v1/batch), gameanalytics "
                        "(/v2/{game_key}/events; needs the ingest started here)")
    args = parser.parse_args()
    protocols = args.protocols.split(",")
    if args.url and "gameanalytics" in protocols:
        parser.error("--protocols gameanalytics needs the ingest started here (its game's GameAnalytics key pair)")

    from operations.demo import wait_for_ingest
    from gamemetrics.envvars import settings_env
    from operations.stack.services import ProjectServices, Service
    from store import db
    from store.games import create_game
    from streams.topics import RAW_EVENTS

    # its own topics, schema and service name (by port: two runs on other ports do not collide); a
    # benchmark never writes to the deployment's topics
    suffix = "" if args.port == 18080 else f"-{args.port}"
    url, key = args.url, args.api_key
    ga_pair = ""
    if url and not args.skip_floor:
        parser.error("--url measures a running ingest: add --skip-floor (the floor needs a deployment of its own)")
    if not url:
        stack, settings = fresh_deployment(f"bench-ingest{suffix}.", f"bench_ingest{suffix.replace('-', '_')}")
        services = ProjectServices(stack.paths.run)
    started_here = False
    server_pid: int | None = args.pid or None  # CPU: of the ingest started here, or of --pid
    if not url:
        url = f"http://127.0.0.1:{args.port}"
        env = {
            **settings_env(settings),
            "GAMEMETRICS_INGEST_RATE_LIMIT_EVENTS_PER_S": "100000000",
            "GAMEMETRICS_INGEST_RATE_LIMIT_BURST": "100000000",
            "GAMEMETRICS_LOG_LEVEL": "warning",
        }
        name = f"bench-ingest{suffix}"
        services.start(Service(name, ("serve", "ingest", "--port", str(args.port), "--workers", str(args.ingest_workers),
                                       *(("--server", args.server) if args.server != "uvicorn" else ()))), env)
        started_here = True
        server_pid = services.running(name)
        wait_for_ingest(url)
        from store.gameanalytics import issue_key_pair
        from store.secret_box import SecretBox

        with db.connect(settings, autocommit=True) as conn:
            game = create_game(conn, f"bench-{uuid.uuid4().hex[:6]}")
            pair = issue_key_pair(conn, game.game_id, SecretBox(settings.secret_box_key.get_secret_value()))
            key = game.api_key
            ga_pair = f"{pair.game_key}:{pair.secret_key}"
    sizes = [int(s) for s in args.batch_sizes.split(",")]
    keys = {"ours": key, "segment": key, "gameanalytics": ga_pair}
    rows = []
    try:
        for size, protocol in [(size, protocol) for size in sizes for protocol in protocols]:
            key = keys[protocol]
            drive(url, key, size, 2.0, args.clients, args.concurrency, protocol=protocol)  # warm-up
            http = drive(url, key, size, args.duration, args.clients, args.concurrency, server_pid, protocol)
            http["protocol"] = protocol
            load = os.getloadavg()[0]
            floor = (
                {"batch": size, "messages_s": float("nan"), "events_s": float("nan")} if args.skip_floor
                else producer_floor(settings.kafka_bootstrap_servers, settings.topic(RAW_EVENTS.name), size, args.duration)
            )
            rows.append((http, floor, load))
            print(
                f"{protocol:>13} batch {size:>4}: {http['events_s']:>10,.0f} events/s {http['requests_s']:>8,.0f} req/s "
                f"p50 {http['p50_ms']:6.1f} ms p99 {http['p99_ms']:6.1f} ms errors {http['errors']} | "
                f"raw producer floor {floor['events_s']:>10,.0f} events/s ({floor['messages_s']:,.0f} msg/s)",
                flush=True,
            )
            print(
                f"            ingest CPU {http['cpu_us_event']:6.1f} us/event {http['cpu_us_request']:7.1f} us/request "
                f"(load average {load:.2f})" + ("; by step, us/event: " + ", ".join(
                    f"{step} {us:.2f}" for step, us in http["steps_us_event"].items()) if http["steps_us_event"] else ""),
                flush=True,
            )
    finally:
        if started_here:
            for pid_file in [services.pid_file(f"bench-ingest{suffix}")]:
                from operations.stack import procs

                pid = procs.read_pid(pid_file)
                if pid:
                    os.killpg(pid, 15)
                pid_file.unlink(missing_ok=True)
    if args.record:
        lines = [
            f"`python bench/ingest.py --batch-sizes {args.batch_sizes} --duration {args.duration:g} --ingest-workers "
            f"{args.ingest_workers} --server {args.server} --clients {args.clients} --concurrency {args.concurrency}`; 2 cores, Kafka, "
            "PostgreSQL, Redis, ingest and client on the same machine.",
            "",
            "| body | events/request | events/s | requests/s | p50 ms | p99 ms | errors | ingest CPU µs/event | µs/request "
            "| load avg | raw producer floor events/s |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for http, floor, load in rows:
            lines.append(
                f"| {http['protocol']} | {http['batch']} | {http['events_s']:,.0f} | {http['requests_s']:,.0f} | {http['p50_ms']:.1f} | "
                f"{http['p99_ms']:.1f} | {http['errors']} | {http['cpu_us_event']:.1f} | {http['cpu_us_request']:.0f} "
                f"| {load:.2f} | {floor['events_s']:,.0f} |"
            )
        append_results("Ingest (bench/ingest.py)", lines)


if __name__ == "__main__":
    main()
