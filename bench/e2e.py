"""End-to-end benchmark: HTTP -> ingest -> Kafka -> landing workers -> PostgreSQL, on this machine.

    python bench/e2e.py [--rate 50000] [--duration 60] [--batch-size 100] [--ingest-workers 2]
                        [--workers 1] [--clients 1] [--backend auto] [--schema bench_e2e]
                        [--linger-ms 5] [--fetch-max-bytes 1048576] [--max-poll-records 500]
                        [--record]      (also: gamemetrics bench e2e ...)

Brings up or reuses the stack, starts its own ingest and workers on a fresh topic prefix and
schema, drives an open-loop load from separate client processes (bodies with unique event ids
generated before the clock starts; 429/503 retried with the same body), waits for the pipeline
to drain, then prints: accepted and landed events/s, ingest latency p50/p99, received->queryable
p50/p99, CPU seconds per component, and the floors of the same run (raw producer; raw consume +
binary COPY). It fails loudly unless the landed rows equal the accepted events exactly.

``--backend`` splits the bench schema's tables as the other benches do (native partitions or a
TimescaleDB hypertable; ``auto``: what the database runs). The Kafka sizes are passed to the
services as their settings: ``--linger-ms`` the ingest producer's batching delay
(GAMEMETRICS_INGEST_PRODUCER_LINGER_MS: every accepted request waits up to that long for its ack),
``--fetch-max-bytes`` and ``--max-poll-records`` the workers' consumer (GAMEMETRICS_WORKER_*).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import append_results, backend_option, cpu_seconds, fresh_deployment, landed_events  # noqa: E402
from bench.common import schema_backend  # noqa: E402
from bench.common import process_tree as _tree  # noqa: E402
from operations.loadgen import percentile  # noqa: E402

DRAIN_TIMEOUT_S = 300.0
METRICS_PORT_BASE = 19564


# ---------------------------------------------------------------- load clients (separate processes)
def client_main(url: str, keys: list[str], batch_size: int, rate: float, duration: float, players: int,
                seed: int, start_at: float, out: mp.Queue) -> None:
    import aiohttp
    import orjson

    from operations.simulate import Simulator

    sims = [Simulator(players, seed=seed * 1000 + g) for g in range(len(keys))]
    total = int(rate * duration)
    now = int(time.time() * 1000)
    bodies: list[tuple[str, bytes, int]] = []
    made = 0
    i = 0
    while made < total:
        g = i % len(keys)
        events = sims[g].next_events(min(batch_size, total - made), now)
        bodies.append((keys[g], orjson.dumps({"sent_at": now, "events": events}), len(events)))
        made += len(events)
        i += 1
    interval = batch_size / rate

    async def run() -> dict:
        latencies: list[float] = []
        accepted = rejected = failed = retries = 0
        connector = aiohttp.TCPConnector(limit=256)
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(url, connector=connector, timeout=timeout) as session:
            async def send(key: str, body: bytes, n: int) -> None:
                nonlocal accepted, rejected, failed, retries
                headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
                for attempt in range(20):
                    started = time.perf_counter()
                    try:
                        async with session.post("/v1/events", data=body, headers=headers) as r:
                            payload = await r.read()
                            status = r.status
                            retry_after = float(r.headers.get("Retry-After", "0.5"))
                    except aiohttp.ClientError:
                        status, retry_after = 0, 0.5
                    if status == 200:
                        latencies.append(time.perf_counter() - started)
                        result = orjson.loads(payload)
                        accepted += result["accepted"]
                        rejected += len(result["rejected"])
                        return
                    retries += 1
                    await asyncio.sleep(min(retry_after, 2.0))
                failed += n

            while time.time() < start_at:
                await asyncio.sleep(0.01)
            t0 = time.perf_counter()
            cpu0 = time.process_time()
            tasks = []
            for k, (key, body, n) in enumerate(bodies):
                delay = t0 + k * interval - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(send(key, body, n)))
            send_window = time.perf_counter() - t0
            await asyncio.gather(*tasks)
            cpu_s = time.process_time() - cpu0
        return {"accepted": accepted, "rejected": rejected, "failed": failed, "retries": retries,
                "latencies": latencies, "send_window": send_window, "sent": made, "cpu_s": cpu_s}

    out.put(asyncio.run(run()))


# ---------------------------------------------------------------- CPU accounting from /proc
def _by_name(name: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


class CpuMeter:
    """CPU seconds used per component between start() and stop() (threads and children included)."""

    def __init__(self, components: dict[str, callable]) -> None:
        self._components = components
        self._start: dict[str, dict[int, float]] = {}

    def _sample(self) -> dict[str, dict[int, float]]:
        return {name: {pid: cpu_seconds(pid) for pid in find()} for name, find in self._components.items()}

    def start(self) -> None:
        self._start = self._sample()

    def stop(self) -> dict[str, float]:
        end = self._sample()
        return {
            name: sum(v - self._start.get(name, {}).get(pid, 0.0) for pid, v in pids.items())
            for name, pids in end.items()
        }


# ---------------------------------------------------------------- the budget: CPU per step from /metrics
WORKER_STEP_CPU = "gamemetrics_landing_step_cpu_seconds_total"
INGEST_STEP_CPU = "gamemetrics_ingest_step_seconds_total"
BUDGET_US = 40.0  # two cores at 50,000 events/s


def scrape_steps(urls: list[str], metric: str) -> dict[str, float]:
    """Sum of ``metric`` by its ``step`` label over the /metrics pages at ``urls`` (absent: {})."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    total: dict[str, float] = {}
    for url in urls:
        try:
            text = urllib.request.urlopen(url, timeout=5).read().decode()
        except OSError:
            continue
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == metric and "step" in sample.labels:
                    step = sample.labels["step"]
                    total[step] = total.get(step, 0.0) + sample.value
    return total


def budget_table(cpu: dict[str, float], steps: dict[str, dict[str, float]], events: int) -> list[str]:
    """Rows of µs of CPU per landed event: each component, and inside ingest and the workers each step
    (what the process used beyond its steps: the framework, Faust and the Kafka clients)."""
    per = lambda seconds: seconds / max(events, 1) * 1e6  # noqa: E731
    rows = [f"{'component / step':<28}{'µs/event':>10}"]
    for name, seconds in cpu.items():
        if name == "load clients":
            continue
        rows.append(f"{name:<28}{per(seconds):>10.1f}")
        inside = steps.get(name) or {}
        for step, s in sorted(inside.items(), key=lambda kv: -kv[1]):
            rows.append(f"{'  ' + step:<28}{per(s):>10.1f}")
        if inside:
            rows.append(f"{'  (rest of the process)':<28}{per(seconds - sum(inside.values())):>10.1f}")
    total = sum(v for k, v in cpu.items() if k != "load clients")
    rows.append(f"{'pipeline total':<28}{per(total):>10.1f}   (budget at 50k/s on 2 cores: {BUDGET_US:.0f})")
    return rows


def _delta(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {k: v - before.get(k, 0.0) for k, v in after.items() if v - before.get(k, 0.0) > 0}


# ---------------------------------------------------------------- the run
def _train_recommender(settings, game_ids: list[str]) -> None:
    """A recommender model per game, trained on a simulated history whose items are the load's
    (item-1 .. item-200), so the fold-in worker does its full work on the load's purchases."""
    import asyncio
    from datetime import datetime, timedelta, timezone

    from operations.history import history_columns, history_segments
    from operations.simulate import Tastes, simulate_history
    from recommender.settings import RecommenderSettings
    from recommender.training import fit, publish
    from recommender.vectors import VectorStore

    rec = RecommenderSettings()

    async def run() -> None:
        store = VectorStore.open(settings, rec)
        try:
            for game_id in game_ids:
                now = datetime.now(timezone.utc)
                hist = simulate_history(20_000, Tastes(items=200), now_ms=int(now.timestamp() * 1000))
                await publish(store, fit(history_columns(hist), history_segments(hist), rec, game_id, now,
                                         now - timedelta(days=60)), rec)
        finally:
            await store.close()

    asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=50_000, help="target events/s offered")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--batch-size", type=int, default=100, help="events per request")
    parser.add_argument("--ingest-workers", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1, help="landing worker processes")
    parser.add_argument("--clients", type=int, default=1, help="load client processes")
    parser.add_argument("--games", type=int, default=1)
    parser.add_argument("--players", type=int, default=20_000, help="simulated players per game and client")
    parser.add_argument("--port", type=int, default=18180)
    parser.add_argument("--skip-floors", action="store_true")
    parser.add_argument("--recommender", action="store_true",
                        help="also run the fold-in (`gamemetrics recommender worker` with GAMEMETRICS_QDRANT_URL, else "
                             "`serve recommender`, which owns the embedded store and folds in) on a model trained for "
                             "each game: measures what the fold-in costs landing")
    parser.add_argument("--split-notifications", action="store_true",
                        help="workers with --no-notifications and one `gamemetrics notifications worker`, measured apart")
    parser.add_argument("--own-stack", action="store_true",
                        help="run Kafka, PostgreSQL and Redis of its own on free ports (removed after): the CPU "
                             "figures of those services are then this run's alone, not also other users' of the shared stack")
    backend_option(parser)
    parser.add_argument("--schema", default="bench_e2e", help="the (dropped and re-made) bench schema and topic prefix")
    parser.add_argument("--linger-ms", type=int, default=None,
                        help="the ingest producer's linger.ms (default: the ingest's setting, 5)")
    parser.add_argument("--fetch-max-bytes", type=int, default=None,
                        help="the workers' fetch size per partition (default: the worker's setting, 1 MiB)")
    parser.add_argument("--max-poll-records", type=int, default=None,
                        help="the workers' messages per poll (default: the worker's setting, 500)")
    parser.add_argument("--record", action="store_true", help="append the results to bench/RESULTS.md")
    args = parser.parse_args()

    from operations.demo import wait_for_ingest
    from gamemetrics.envvars import settings_env
    from store import db
    from store.games import create_game
    from streams.topics import RAW_EVENTS

    own = None
    if args.own_stack:  # Kafka, PostgreSQL and Redis of this run alone: their CPU is this run's
        import tempfile

        from bench.faults import DrillStack

        import atexit
        import shutil

        own = DrillStack.start(Path(tempfile.mkdtemp(prefix="bench-e2e-stack-")))
        atexit.register(lambda: (own.stop_all(), shutil.rmtree(own.root, ignore_errors=True)))
        stack, settings = own, own.settings
        postmaster = int((own.postgres.data / "postmaster.pid").read_text().split()[0])
        postgres_pids = lambda: _tree(postmaster)  # noqa: E731
    else:
        stack, settings = fresh_deployment(f"{args.schema.replace('_', '-')}.", args.schema, args.backend)
        postgres_pids = lambda: _by_name("postgres")  # noqa: E731  every cluster on the machine
    with db.connect(settings) as conn:
        created = [create_game(conn, f"bench-{g}-{uuid.uuid4().hex[:4]}") for g in range(args.games)]
    keys = [game.api_key for game in created]
    if args.recommender:
        import tempfile

        settings = settings.model_copy(update={"state_dir": Path(tempfile.mkdtemp(prefix="bench-e2e-rec-"))})
        _train_recommender(settings, [game.game_id for game in created])

    env = {**os.environ, **settings_env(settings), "GAMEMETRICS_LOG_LEVEL": "warning",
           "GAMEMETRICS_INGEST_RATE_LIMIT_EVENTS_PER_S": "1e9", "GAMEMETRICS_INGEST_RATE_LIMIT_BURST": "1000000000"}
    for name, value in (("GAMEMETRICS_INGEST_PRODUCER_LINGER_MS", args.linger_ms),
                        ("GAMEMETRICS_WORKER_FETCH_MAX_BYTES", args.fetch_max_bytes),
                        ("GAMEMETRICS_WORKER_MAX_POLL_RECORDS", args.max_poll_records)):
        if value is not None:
            env[name] = str(value)
    backend = schema_backend(settings)
    print(f"store backend {backend}; load average {os.getloadavg()[0]:.1f}", flush=True)
    services: list[subprocess.Popen] = []

    def spawn(command: list[str], **extra_env: str) -> subprocess.Popen:
        """One `gamemetrics` service of this run, silent, in its own process group."""
        proc = subprocess.Popen([sys.executable, "-m", "operations", *command], env={**env, **extra_env},
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        services.append(proc)
        return proc

    ingest = spawn(["serve", "ingest", "--port", str(args.port), "--workers", str(args.ingest_workers)])
    workers = [spawn(["worker", *(["--no-notifications"] if args.split_notifications else [])],
                     GAMEMETRICS_WORKER_METRICS_PORT=str(METRICS_PORT_BASE + i)) for i in range(args.workers)]
    notifier = [spawn(["notifications", "worker"], GAMEMETRICS_WORKER_METRICS_PORT="0")] if args.split_notifications else []
    # the fold-in: the Faust worker with a Qdrant server; on the embedded store, the service that owns it
    fold_in = (["recommender", "worker"] if settings.qdrant_url else ["serve", "recommender", "--port", str(args.port + 1)])
    recommender = ([spawn(fold_in, GAMEMETRICS_RECOMMENDER_WORKER_METRICS_PORT="0")] if args.recommender else [])
    url = f"http://127.0.0.1:{args.port}"
    try:
        wait_for_ingest(url)
        time.sleep(5)  # workers join the group
        kafka_pid = stack.kafka.running_pid()
        redis_pid = stack.redis.running_pid()
        meter = CpuMeter({
            "ingest": lambda: _tree(ingest.pid),
            "workers": lambda: [p for w in workers for p in _tree(w.pid)],
            **({"notifications": lambda: [p for w in notifier for p in _tree(w.pid)]} if notifier else {}),
            "kafka": lambda: [kafka_pid] if kafka_pid else [],
            "postgresql": postgres_pids,
            "redis": lambda: [redis_pid] if redis_pid else [],
            **({"recommender": lambda: [p for w in recommender for p in _tree(w.pid)]} if recommender else {}),
        })
        out: mp.Queue = mp.Queue()
        prepare_s = max(10.0, args.rate * args.duration / args.clients / 150_000)
        start_at = time.time() + prepare_s
        print(f"generating {args.rate * args.duration:,.0f} events in {args.clients} client(s); load starts in {prepare_s:.0f} s",
              flush=True)
        clients = [
            mp.Process(target=client_main, args=(url, keys, args.batch_size, args.rate / args.clients, args.duration,
                                                 args.players, c + 1, start_at, out))
            for c in range(args.clients)
        ]
        for c in clients:
            c.start()
        while time.time() < start_at:
            time.sleep(0.05)
        worker_metrics = [f"http://127.0.0.1:{METRICS_PORT_BASE + i}/metrics" for i in range(args.workers)]
        ingest_metrics = [f"{url}/metrics"]
        steps_before = {"workers": scrape_steps(worker_metrics, WORKER_STEP_CPU),
                        "ingest": scrape_steps(ingest_metrics, INGEST_STEP_CPU)}
        meter.start()
        t_start = time.time()
        results = [out.get() for _ in clients]
        for c in clients:
            c.join()
        t_sent = time.time()
        accepted = sum(r["accepted"] for r in results)
        print(f"load done: {accepted:,} accepted in {t_sent - t_start:.1f} s; draining ...", flush=True)

        deadline = time.time() + DRAIN_TIMEOUT_S
        while landed_events(settings) < accepted and time.time() < deadline:
            time.sleep(0.2)
        t_drained = time.time()
        cpu = meter.stop()
        steps = {"workers": _delta(scrape_steps(worker_metrics, WORKER_STEP_CPU), steps_before["workers"]),
                 "ingest": _delta(scrape_steps(ingest_metrics, INGEST_STEP_CPU), steps_before["ingest"])}
        cpu["load clients"] = sum(r["cpu_s"] for r in results)  # while sending; not in the per-event figure
        with db.connect(settings) as conn:
            rows, distinct = conn.execute("SELECT count(*), count(DISTINCT event_id) FROM player_events").fetchone()
            q50, q99 = conn.execute(
                "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d), percentile_cont(0.99) WITHIN GROUP (ORDER BY d) "
                "FROM (SELECT extract(epoch FROM landed_at - received_at) AS d FROM player_events) s"
            ).fetchone()
    finally:
        for p in services:
            try:
                os.killpg(p.pid, 15)
            except ProcessLookupError:
                pass
        for p in services:
            p.wait()

    latencies = sorted(l for r in results for l in r["latencies"])
    send_window = max(r["send_window"] for r in results)
    accepted_rate = accepted / (t_sent - t_start)
    landed_rate = rows / (t_drained - t_start)
    failed = sum(r["failed"] for r in results)
    sent = sum(r["sent"] for r in results)
    print(f"offered {args.rate:,.0f} events/s for {args.duration:.0f} s (sending took {send_window:.1f} s): "
          f"sent {sent:,}, accepted {accepted:,}, rejected {sum(r['rejected'] for r in results)}, failed {failed}, "
          f"retried requests {sum(r['retries'] for r in results)}")
    print(f"accepted {accepted_rate:,.0f} events/s; landed {landed_rate:,.0f} events/s (start of load to drained)")
    print(f"ingest latency p50 {percentile(latencies, 50) * 1000:.1f} ms, p99 {percentile(latencies, 99) * 1000:.1f} ms; "
          f"received->queryable p50 {q50 * 1000:.0f} ms, p99 {q99 * 1000:.0f} ms")
    total_cpu = sum(v for k, v in cpu.items() if k != "load clients")
    print("CPU seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items()) + f" (pipeline, without the load clients: {total_cpu:.1f} of "
          f"{2 * (t_drained - t_start):.0f} available; {total_cpu / max(rows, 1) * 1e6:.1f} µs/event)")
    budget = budget_table(cpu, steps, rows)
    print(f"CPU budget at batch {args.batch_size}, µs of CPU per landed event:\n" + "\n".join(budget))
    floors = ""
    if not args.skip_floors:
        from bench.ingest import producer_floor
        from bench.process import floor

        producer = producer_floor(settings.kafka_bootstrap_servers, settings.topic(RAW_EVENTS.name) + ".floor",
                                  args.batch_size, 10.0)
        messages = sum(1 for _ in range(0))  # the raw topic holds every accepted request's messages
        with db.connect(settings) as conn:
            messages = conn.execute("SELECT count(DISTINCT batch_id) FROM player_events").fetchone()[0]
        copy_s, copy_rows = floor(settings, messages)
        floors = (f"raw producer {producer['events_s']:,.0f} events/s; raw consume + decode + COPY "
                  f"{copy_rows / copy_s:,.0f} events/s")
        print("floors: " + floors)
    exact = rows == distinct == accepted and failed == 0
    print(("EXACT: " if exact else "MISMATCH: ") + f"landed rows {rows:,}, distinct event ids {distinct:,}, accepted {accepted:,}")
    if args.record:
        append_results("End to end (bench/e2e.py)", [
            f"`python bench/e2e.py --rate {args.rate:g} --duration {args.duration:g} --batch-size {args.batch_size} "
            f"--ingest-workers {args.ingest_workers} --workers {args.workers} --clients {args.clients}"
            f"{' --recommender' if args.recommender else ''}{' --split-notifications' if args.split_notifications else ''}"
            f"{' --own-stack' if args.own_stack else ''}"
            f"{f' --linger-ms {args.linger_ms}' if args.linger_ms is not None else ''}"
            f"{f' --fetch-max-bytes {args.fetch_max_bytes}' if args.fetch_max_bytes is not None else ''}"
            f"{f' --max-poll-records {args.max_poll_records}' if args.max_poll_records is not None else ''}`; "
            f"store backend {backend}; everything on this 2-core machine.",
            "",
            f"- accepted {accepted_rate:,.0f} events/s, landed {landed_rate:,.0f} events/s; exact: {exact} "
            f"({rows:,} rows, {accepted:,} accepted)",
            f"- ingest latency p50 {percentile(latencies, 50) * 1000:.1f} ms, p99 {percentile(latencies, 99) * 1000:.1f} ms; "
            f"received->queryable p50 {q50 * 1000:.0f} ms, p99 {q99 * 1000:.0f} ms",
            "- CPU seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items())
            + f"; {total_cpu / max(rows, 1) * 1e6:.1f} µs of CPU per event for the pipeline (load clients excluded)",
            f"- floors: {floors or 'skipped'}",
            f"- load average at the end: {os.getloadavg()[0]:.1f}",
            "",
            "```",
            f"CPU budget at batch {args.batch_size}",
            *budget,
            "```",
        ])
    if not exact:
        sys.exit(f"landed rows ({rows}) != accepted events ({accepted}) or failed requests ({failed})")


if __name__ == "__main__":
    main()
