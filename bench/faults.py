"""Fault drill: load through the whole pipeline while its services fail, one fault at a time.

    python -m bench.faults [--rate 400] [--steady-s 20] [--hold-s 8] [--workers 2] [--batch-size 50]
                           [--faults kill-worker,restart-broker,restart-postgres,stop-redis,freeze-broker]
                           [--record]                  (also: gamemetrics bench faults ...)

Runs on a stack of its OWN, never the shared one: Kafka, PostgreSQL and Redis on free ports under a
temporary state directory (removed at the end), with its own ingest process and landing workers.
A client thread posts batches of unique events at ``--rate`` events/s and retries 429/503/network
failures with the same body (the same event ids), as a game client does. Between steady phases it
injects each fault, then undoes it:

    kill-worker       kill -9 one landing worker (the others must take its partitions over); it is
                      restarted at the end of the phase
    restart-broker    stop Kafka (SIGTERM) and start it again
    restart-postgres  pg_ctl stop -m fast, then start
    stop-redis        stop Redis for --hold-s (ingest falls back to its per-process rate limit)
    freeze-broker     SIGSTOP Kafka for --hold-s, then SIGCONT
    promote-replica   the failover drill (issue 26): the primary crashes (pg_ctl stop -m immediate) and
                      its streaming replica is promoted. The drill's PostgreSQL then runs with a
                      synchronous replica (synchronous_standby_names = '*': a commit returns once the
                      replica has it, so a failover loses no acknowledged row) and every service
                      reaches it through a libpq multi-host URL with target_session_attrs=read-write
                      (what a Kubernetes Service such as CloudNativePG's -rw does there): they find
                      the promoted replica on their own. Must come last: the old primary stays down.

Per fault it prints what clients saw (status counts, retries, slowest request including its
retries), the stall (longest time in the phase with events waiting and none landing) and the
recovery: for the events received in the phase, the longest time from the fault being over (or
the event's arrival, if later) to the event being in player_events (``landed_at``). At the end:
accepted, landed, lost, duplicated and ``gamemetrics verify`` (rollups against player_events).
Exit status 1 on any loss, duplicate, rollup difference or a recovery over --max-gap-s (15 s).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import append_results  # noqa: E402

FAULTS = ("kill-worker", "restart-broker", "restart-postgres", "stop-redis", "freeze-broker")
EXTRA_FAULTS = ("promote-replica",)  # asked for by name: it changes the drill's PostgreSQL
MAX_GAP_S = 15.0
DRAIN_TIMEOUT_S = 300.0  # the drain ends after this long without one more event landing
DRAIN_MAX_S = 3600.0
SETTLE_TIMEOUT_S = 120.0
CLIENT_GIVE_UP_S = 180.0  # a client retries one batch this long before counting it failed
POLL_S = 0.5


# ---------------------------------------------------------------- the drill's own stack
@dataclass
class DrillStack:
    root: Path
    kafka: object
    postgres: object
    redis: object
    settings: object
    replica: object = None
    ingest_url: str = ""
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    @classmethod
    def start(cls, root: Path, replica: bool = False) -> "DrillStack":
        from gamemetrics.settings import load_settings
        from operations.stack.kafka import LocalKafka
        from operations.stack.local import LocalStack
        from operations.stack.postgres import LocalPostgres
        from operations.stack.redis import LocalRedis
        from store.migrate import upgrade
        from streams.topics import ensure_topics

        shared_kafka = LocalStack(load_settings()).kafka  # only for its jars
        if not shared_kafka.installed():
            raise SystemExit("the Kafka jars are missing: run `gamemetrics stack install` first")
        kafka = LocalKafka(root / "kafka", port=free_port(), controller_port=free_port())
        kafka.use_libs_of(shared_kafka)
        from operations.stack.replica import LocalReplica

        postgres = LocalPostgres(root / "postgres", port=free_port(),
                                 extra_conf="synchronous_standby_names = '*'" if replica else "")
        standby = LocalReplica(root / "replica", postgres, port=free_port()) if replica else None
        redis = LocalRedis(root / "redis", port=free_port())
        kafka.start()
        postgres.start()
        redis.start()
        kafka.wait_ready(kafka.bootstrap_servers)
        postgres.wait_ready(postgres.url)
        database_url = postgres.url
        if standby is not None:  # before the first commit (CREATE DATABASE too): a synchronous primary waits for it
            standby.start()
            standby.wait_ready(standby.url)
        postgres.ensure_database()
        if standby is not None:
            database_url = (f"postgresql://gamemetrics@127.0.0.1:{postgres.port},127.0.0.1:{standby.port}/gamemetrics"
                            "?target_session_attrs=read-write&connect_timeout=2")
        redis.wait_ready(redis.url)
        settings = load_settings(
            kafka_bootstrap_servers=kafka.bootstrap_servers, database_url=database_url, redis_url=redis.url,
            state_dir=root / "state", topic_prefix="drill.", database_schema="drill", log_format="json",
        )
        ensure_topics(settings.kafka_bootstrap_servers, settings.topic_prefix)
        upgrade(settings.model_copy(update={"database_url": postgres.url}))  # SQLAlchemy: one host
        return cls(root, kafka, postgres, redis, settings, standby)

    def spawn(self, name: str, args: list[str], extra: dict[str, str] | None = None) -> subprocess.Popen:
        from gamemetrics.envvars import settings_env

        env = {**os.environ, **settings_env(self.settings), **(extra or {})}
        log = open(self.root / f"{name}.log", "ab")
        proc = subprocess.Popen([sys.executable, "-m", "operations", *args], env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[name] = proc
        return proc

    def exited(self) -> dict[str, int]:
        """Services that are no longer running, with their exit status (-N: killed by signal N)."""
        return {name: proc.returncode for name, proc in self.procs.items() if proc.poll() is not None}

    def start_services(self, workers: int) -> None:
        import httpx

        port = free_port()
        self.spawn("ingest", ["serve", "ingest", "--port", str(port)])
        self.ingest_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.ingest_url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"ingest did not start: see {self.root / 'ingest.log'}")
            time.sleep(0.3)
        for i in range(workers):
            self.start_worker(i)

    def start_worker(self, i: int) -> None:
        self.spawn(f"worker-{i}", ["worker"], {"GAMEMETRICS_WORKER_METRICS_PORT": "0"})

    def stop_all(self) -> None:
        for proc in self.procs.values():
            _signal_group(proc, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
        kafka_pid = self.kafka.running_pid()
        if kafka_pid:
            os.kill(kafka_pid, signal.SIGCONT)  # never leave it frozen
        self.kafka.stop()
        self.redis.stop()
        if self.replica is not None:
            self.replica.stop(mode="immediate")
            self.replica.purge()
        self.postgres.stop(mode="immediate" if self.replica is not None else "fast")
        self.postgres.purge()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass


# ---------------------------------------------------------------- faults: inject, hold, undo
def faults(stack: DrillStack, hold_s: float) -> dict[str, tuple[Callable[[], None], Callable[[], None]]]:
    """name -> (inject and undo the fault, clean up at the end of its phase)."""

    def nothing() -> None:
        pass

    def kill_worker() -> None:
        victim = stack.procs["worker-0"]
        _signal_group(victim, signal.SIGKILL)
        victim.wait()

    def restart_broker() -> None:
        stack.kafka.stop()
        stack.kafka.start()
        stack.kafka.wait_ready(stack.kafka.bootstrap_servers)

    def restart_postgres() -> None:
        stack.postgres.stop()
        stack.postgres.start()

    def stop_redis() -> None:
        stack.redis.stop()
        time.sleep(hold_s)
        stack.redis.start()

    def freeze_broker() -> None:
        pid = stack.kafka.running_pid()
        os.kill(pid, signal.SIGSTOP)
        try:
            time.sleep(hold_s)
        finally:
            os.kill(pid, signal.SIGCONT)

    def promote_replica() -> None:
        stack.postgres.stop(mode="immediate")  # the primary's host is gone
        started = time.monotonic()
        stack.replica.promote()
        print(f"  replica promoted in {time.monotonic() - started:.2f}s", flush=True)

    return {"promote-replica": (promote_replica, nothing),
            "kill-worker": (kill_worker, lambda: stack.start_worker(0)), "restart-broker": (restart_broker, nothing),
            "restart-postgres": (restart_postgres, nothing), "stop-redis": (stop_redis, nothing),
            "freeze-broker": (freeze_broker, nothing)}


# ---------------------------------------------------------------- the clients
@dataclass
class PhaseStats:
    statuses: Counter = field(default_factory=Counter)
    retries: int = 0
    max_latency_s: float = 0.0


class Clients:
    """Posts batches at a fixed rate from one thread (own event loop); retries like a game client."""

    def __init__(self, url: str, api_key: str, rate: float, batch_size: int) -> None:
        self.url, self.api_key, self.rate, self.batch_size = url, api_key, rate, batch_size
        self.phase = "warm-up"
        self.stats: dict[str, PhaseStats] = {}
        self.accepted_ids: list[str] = []
        self.accepted_phase: list[str] = []  # the phase each accepted id was first sent in
        self.failed_events = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), name="drill-clients", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    async def _run(self) -> None:
        import httpx

        async with httpx.AsyncClient(base_url=self.url, timeout=30) as http:
            tasks: set[asyncio.Task] = set()
            interval = self.batch_size / self.rate
            next_at = time.perf_counter()
            while not self._stop.is_set():
                task = asyncio.create_task(self._send(http, self._batch()))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                next_at += interval
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
            if tasks:
                await asyncio.gather(*tasks)

    def _batch(self) -> list[dict]:
        now = int(time.time() * 1000)
        return [{"event_id": str(uuid.uuid4()), "event_type": "session_start", "player_id": f"p{uuid.uuid4().int % 500}",
                 "ts": now} for _ in range(self.batch_size)]

    async def _send(self, http, events: list[dict]) -> None:
        import httpx

        phase = self.phase
        stats = self.stats.setdefault(phase, PhaseStats())
        body = {"events": events}
        started = time.monotonic()
        while True:
            try:
                response = await http.post("/v1/events", json=body, headers={"Authorization": f"Bearer {self.api_key}"})
                status, retry_after = response.status_code, float(response.headers.get("Retry-After", "0.5"))
            except httpx.HTTPError:
                status, retry_after = 0, 0.5
            stats.statuses[status] += 1
            if status == 200:
                rejected = {r["index"] for r in response.json()["rejected"]}
                kept = [e["event_id"] for i, e in enumerate(events) if i not in rejected]
                self.accepted_ids += kept
                self.accepted_phase += [phase] * len(kept)
                break
            if time.monotonic() - started > CLIENT_GIVE_UP_S:
                self.failed_events += len(events)
                break
            stats.retries += 1
            await asyncio.sleep(min(retry_after, 2.0))
        stats.max_latency_s = max(stats.max_latency_s, time.monotonic() - started)


# ---------------------------------------------------------------- landing progress
class LandingWatch:
    """Polls the landed count; the gap of a window is the longest stretch with a backlog and no progress."""

    def __init__(self, settings, clients: Clients) -> None:
        self.settings, self.clients = settings, clients
        self.samples: list[tuple[float, int | None, int]] = []  # (time, landed or None if unknown, accepted)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="drill-landing", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        import psycopg

        from store import db

        while not self._stop.is_set():
            accepted = len(self.clients.accepted_ids)
            try:
                with db.connect(self.settings) as conn:
                    conn.execute("SET statement_timeout = '2s'")
                    landed = conn.execute("SELECT coalesce(sum(events), 0) FROM event_rollup_minute").fetchone()[0]
            except (psycopg.Error, OSError, Exception):  # PostgreSQL down during its fault: unknown, no progress
                landed = None
            self.samples.append((time.monotonic(), landed, accepted))
            self._stop.wait(POLL_S)

    def wait_caught_up(self, timeout_s: float) -> float:
        """Wait until everything accepted so far has landed (so faults do not overlap); returns the wait."""
        started = time.monotonic()
        target = len(self.clients.accepted_ids)
        while time.monotonic() - started < timeout_s:
            if self.samples and (self.samples[-1][1] or 0) >= target:
                break
            time.sleep(POLL_S)
        return time.monotonic() - started

    def gap(self, since: float, until: float) -> float:
        """Longest stretch in [since, until] during which landed did not grow while events waited."""
        longest, stalled_from, last = 0.0, None, None
        for t, landed, accepted in self.samples:
            if t < since or t > until:
                continue
            progressed = landed is not None and last is not None and landed > last
            waiting = landed is None or landed < accepted
            if landed is not None:
                last = landed if last is None else max(last, landed)
            if progressed or not waiting:
                stalled_from = None
            elif stalled_from is None:
                stalled_from = t
            if stalled_from is not None:
                longest = max(longest, t - stalled_from)
        return longest


def _landing_lag(settings) -> int:
    """Messages of the raw topic the landing group has not committed yet (0: it has read everything)."""
    from confluent_kafka import Consumer, TopicPartition

    from streams.app import APP_ID
    from streams.topics import RAW_EVENTS

    topic = settings.topic(RAW_EVENTS.name)
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap_servers, "group.id": settings.topic(APP_ID),
                         "enable.auto.commit": False})
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.list_topics(topic, timeout=10).topics[topic].partitions]
        behind = 0
        for tp in consumer.committed(partitions, timeout=10):
            _low, high = consumer.get_watermark_offsets(tp, timeout=10)
            behind += high - max(tp.offset, 0)
        return behind
    finally:
        consumer.close()


def _raw_event_ids(settings) -> set[str]:
    """Every event id in the raw topic (read from the start with a throw-away group)."""
    from confluent_kafka import Consumer

    from schemas.catalog import load_catalog
    from schemas.ids import schema_ids
    from schemas.wire import AvroDeserializer
    from streams.topics import RAW_EVENTS

    decoder = AvroDeserializer(schema_ids(settings.schema_registry_url), load_catalog().latest(RAW_EVENTS.value_schema))
    consumer = Consumer(settings.kafka_config(**{"group.id": f"drill-check-{uuid.uuid4()}", "auto.offset.reset": "earliest",
                                                  "enable.auto.commit": False}))
    consumer.subscribe([settings.topic(RAW_EVENTS.name)])
    ids: set[str] = set()
    idle_since = time.monotonic()
    try:
        while time.monotonic() - idle_since < 10:
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            idle_since = time.monotonic()
            ids.update(str(e["event_id"]) for e in decoder.decode(message.value())["events"])
    finally:
        consumer.close()
    return ids


# ---------------------------------------------------------------- the drill
@dataclass(frozen=True)
class Window:
    """One fault's phase: monotonic bounds (for the watcher) and wall-clock ones (for landed_at)."""

    name: str
    began: float
    ended: float
    began_wall: float
    over_wall: float  # when the fault was over (undone, or the instant of a kill)
    ended_wall: float


def _recovery_s(conn, window: Window) -> float | None:
    """For events received in the window: the longest (landed_at - max(received_at, fault over))."""
    row = conn.execute(
        "SELECT max(extract(epoch FROM landed_at) - greatest(extract(epoch FROM received_at), %(over)s)) "
        "FROM player_events WHERE received_at >= to_timestamp(%(began)s) AND received_at < to_timestamp(%(ended)s)",
        {"over": window.over_wall, "began": window.began_wall, "ended": window.ended_wall},
    ).fetchone()
    return float(row[0]) if row and row[0] is not None else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=400.0, help="Events per second posted by the clients.")
    parser.add_argument("--batch-size", type=int, default=50, help="Events per request.")
    parser.add_argument("--steady-s", type=float, default=20.0, help="Seconds of steady load before each fault and at the end.")
    parser.add_argument("--hold-s", type=float, default=8.0, help="How long a fault lasts where it has a duration.")
    parser.add_argument("--workers", type=int, default=2, help="Landing worker processes.")
    parser.add_argument("--faults", default=",".join(FAULTS), help=f"Comma-separated, in order; of {', '.join(FAULTS + EXTRA_FAULTS)}.")
    parser.add_argument("--max-gap-s", type=float, default=MAX_GAP_S, help="Fail when a landing gap is longer.")
    parser.add_argument("--keep", action="store_true", help="Keep the drill's state directory (logs) at the end.")
    parser.add_argument("--record", action="store_true", help="Append the results to bench/RESULTS.md.")
    args = parser.parse_args()
    chosen = [f.strip() for f in args.faults.split(",") if f.strip()]
    unknown = sorted(set(chosen) - set(FAULTS + EXTRA_FAULTS))
    if unknown:
        parser.error(f"unknown faults {', '.join(unknown)}; choose from {', '.join(FAULTS + EXTRA_FAULTS)}")
    if "promote-replica" in chosen and chosen[-1] != "promote-replica":
        parser.error("promote-replica must come last (the old primary stays down)")

    from store import db
    from store.games import create_game
    from store.verify import rollup_differences

    root = Path(tempfile.mkdtemp(prefix="gamemetrics-drill-"))
    print(f"drill: own stack under {root} (Kafka, PostgreSQL, Redis on free ports)", flush=True)
    stack = DrillStack.start(root, replica="promote-replica" in chosen)
    lines: list[str] = []
    problems: list[str] = []
    try:
        with db.connect(stack.settings) as conn:
            game = create_game(conn, "Fault drill")
        stack.start_services(args.workers)
        clients = Clients(stack.ingest_url, game.api_key, args.rate, args.batch_size)
        watch = LandingWatch(stack.settings, clients)
        clients.start()
        watch.start()
        time.sleep(args.steady_s)
        watch.wait_caught_up(SETTLE_TIMEOUT_S)  # the workers have joined and landed the warm-up
        inject = faults(stack, args.hold_s)
        windows: list[Window] = []
        for name in chosen:
            clients.phase = name
            print(f"drill: {name} ...", flush=True)
            began, began_wall = time.monotonic(), time.time()
            fault, cleanup = inject[name]
            fault()
            over_wall = time.time()
            time.sleep(args.steady_s)
            cleanup()
            for service, status in stack.exited().items():  # a fault must not take a service down with it
                problems.append(f"{name}: {service} exited (status {status}); see {stack.root / (service + '.log')}")
                print(f"drill: {service} EXITED (status {status}) during {name}", flush=True)
            windows.append(Window(name, began, time.monotonic(), began_wall, over_wall, time.time()))
            clients.phase = f"after {name}"
            settled = watch.wait_caught_up(SETTLE_TIMEOUT_S)  # one fault at a time: the next waits for the backlog
            print(f"drill: {name} done; backlog landed {settled:.0f}s after its phase", flush=True)
        clients.phase = "cool-down"
        time.sleep(min(args.steady_s, 10))
        clients.stop()
        accepted = len(clients.accepted_ids)
        print(f"drill: load stopped, {accepted} events accepted; draining ...", flush=True)
        # drain while landing makes progress: a backlog the workers are still working through is not a loss
        deadline = time.monotonic() + DRAIN_MAX_S
        last, last_progress = -1, time.monotonic()
        while time.monotonic() < deadline and (now := watch.samples[-1][1] or 0) < accepted:
            if now > last:
                last, last_progress = now, time.monotonic()
            elif time.monotonic() - last_progress > DRAIN_TIMEOUT_S:
                break
            time.sleep(1)
        watch.stop()
        behind = _landing_lag(stack.settings)

        with db.connect(stack.settings) as conn:
            recovery = {w.name: _recovery_s(conn, w) for w in windows}
        header = f"{'phase':<17} {'statuses':<34} {'retries':>7} {'slowest':>8} {'stall':>7} {'recovery':>9}"
        lines += [f"rate {args.rate:g} events/s, batches of {args.batch_size}, {args.workers} workers, "
                  f"steady {args.steady_s:g}s, hold {args.hold_s:g}s (shared 2-core machine: figures under contention)",
                  "", "```", header]
        for phase, stats in clients.stats.items():
            window = next((w for w in windows if w.name == phase), None)
            stall = f"{watch.gap(window.began, window.ended):.1f}s" if window else "-"
            back = recovery.get(phase)
            statuses = " ".join(f"{s or 'err'}:{c}" for s, c in sorted(stats.statuses.items()))
            lines.append(f"{phase:<17} {statuses:<34} {stats.retries:>7} {stats.max_latency_s:>7.1f}s "
                         f"{stall:>7} {(f'{back:.1f}s' if back is not None else '-'):>9}")
            if back is not None and back > args.max_gap_s:
                problems.append(f"{phase}: landing came back {back:.1f}s after the fault, over {args.max_gap_s:g}s")
        with db.connect(stack.settings) as conn:
            ids = clients.accepted_ids
            rows, distinct = conn.execute("SELECT count(*), count(DISTINCT event_id) FROM player_events").fetchone()
            conn.execute("CREATE TEMP TABLE accepted (event_id uuid PRIMARY KEY)")
            with conn.cursor().copy("COPY accepted (event_id) FROM STDIN") as copy:
                for event_id in ids:
                    copy.write_row((event_id,))
            missing = {str(r[0]) for r in conn.execute(
                "SELECT event_id FROM accepted a WHERE NOT EXISTS "
                "(SELECT 1 FROM player_events p WHERE p.event_id = a.event_id)")}
            lost = len(missing)
            lost_by_phase = Counter(ph for i, ph in zip(ids, clients.accepted_phase) if i in missing)
            if missing:
                (root.parent / f"{root.name}-lost.txt").write_text("\n".join(sorted(missing)) + "\n")
            differences = rollup_differences(conn)
        duplicated = rows - distinct
        lines += ["```", "", f"accepted {len(ids)}, landed {distinct} ({rows} rows), lost {lost}, duplicated {duplicated}, "
                  f"client gave up on {clients.failed_events}, gamemetrics verify: "
                  f"{'all rollups match player_events' if not differences else ', '.join(differences)}"]
        if lost:
            in_raw = len(missing & _raw_event_ids(stack.settings))
            if behind:
                lines.append(f"the landing group is still {behind} messages behind the raw topic: the missing events "
                             "are a backlog not yet landed, not a loss")
            problems.append(f"{lost} accepted events were lost (by the phase they were sent in: "
                            f"{dict(lost_by_phase)}; {in_raw} of them are in the raw topic, so "
                            f"{'landing' if in_raw == lost else 'ingest or landing'} dropped them; "
                            f"ids in {root.parent / (root.name + '-lost.txt')})")
        if duplicated:
            problems.append(f"{duplicated} events were stored more than once")
        if clients.failed_events:
            problems.append(f"clients gave up on {clients.failed_events} events after {CLIENT_GIVE_UP_S:g}s of retries")
        if differences:
            problems.append(f"rollups differ from player_events: {', '.join(differences)}")
    finally:
        stack.stop_all()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print("\n".join(lines))
    if args.record:
        append_results("Fault drill (bench/faults.py)", lines + ([f"**FAILED**: {'; '.join(problems)}"] if problems else []))
    if problems:
        print("\nDRILL FAILED:\n  " + "\n  ".join(problems), file=sys.stderr)
        raise SystemExit(1)
    print("\ndrill passed: nothing lost, nothing duplicated, rollups match, every landing gap within "
          f"{args.max_gap_s:g}s")


if __name__ == "__main__":
    main()
