"""GraphQL API benchmark: latency of each standard query over a bulk-loaded store, and the
fan-out of one live consumer to many WebSocket subscribers.

    python bench/graphql.py [--events 10000000] [--days 30] [--repeat 40] [--subscribers 200]
                            [--rate 2000] [--duration 20] [--reuse] [--backend auto]
                            [--compress-older-than DAYS] [--schema bench_graphql]

1. Bulk load (not through the pipeline: that is bench/process.py): simulated players of four games
   over ``--days`` days are COPYed into ``player_events`` (daily partitions), then every rollup is
   built from them with the same GROUP BYs ``gamemetrics verify`` checks. The schema
   (``bench_graphql``, ~5 GB for 10 M events) and topics are dropped at the end unless ``--keep``;
   ``--reuse`` runs on a kept load.
2. One API process (``python -m graphql_api serve``); each standard query is run ``--repeat``
   times in a row, after one warm-up, on the biggest game: p50 and p95 in ms.
3. ``--subscribers`` WebSockets subscribe to ``liveEvents`` of one game; ProcessedEventBatch
   messages (10 events each) are published at ``--rate`` events/s for ``--duration`` s. Reported:
   WebSocket messages and events delivered per second over all subscribers, and the added latency
   from publishing a batch to a subscriber receiving it (p50/p95/p99).
4. ``--compress-older-than N`` (TimescaleDB): after step 2, the chunks of the days older than N
   days are compressed as the retention pass does (``compress_chunk``), the compression ratio and
   time are printed, and the queries of step 2 run again on the compressed chunks.

Prints the numbers; it does not write bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import date, datetime, time as dtime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import backend_option, schema_backend  # noqa: E402
from operations.loadgen import percentile  # noqa: E402

PREFIX, SCHEMA = "bench-graphql.", "bench_graphql"
SECRET = "bench-graphql-secret-bench-graphql-secret-bench-graphql-secret"
GAMES = (("bench-starfall", "Starfall", 0.5), ("bench-nebula", "Nebula", 0.25), ("bench-orbit", "Orbit", 0.15),
         ("bench-comet", "Comet", 0.10))
MODES = ("ranked", "casual", "arena")


# -- 1. bulk load ------------------------------------------------------------------------------


def deployment(reuse: bool, backend: str = "auto"):
    from gamemetrics.settings import load_settings
    from operations.stack.local import LocalStack
    from store.migrate import drop_schema, upgrade
    from streams.topics import delete_topics, ensure_topics

    base = load_settings()
    LocalStack(base).up()
    settings = base.model_copy(update={"topic_prefix": PREFIX, "database_schema": SCHEMA})
    if not reuse:
        drop_schema(settings)
        delete_topics(settings.kafka_bootstrap_servers, PREFIX)
        time.sleep(2)  # topic deletion completes asynchronously
    ensure_topics(settings.kafka_bootstrap_servers, PREFIX)
    upgrade(settings, backend=backend)  # type: ignore[arg-type]
    return settings


def simulated_rows(target: int, days: int, seed: int = 1):
    """Rows of player_events: players first seen over ``days`` days, returning less and less."""
    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    today = now.date()
    first_day = today - timedelta(days=days - 1)
    made = 0
    player = 0
    weights = [w for _, _, w in GAMES]
    while made < target:
        player += 1
        game = rng.choices(GAMES, weights)[0][0]
        pid = f"p{player}"
        start_offset = rng.randrange(days)
        level = 1
        for later in range(days - start_offset):
            if later and rng.random() > 0.4 * 0.93 ** later + 0.03:
                continue
            day = first_day + timedelta(days=start_offset + later)
            for s in range(1 + (rng.random() < 0.3)):
                t = datetime.combine(day, dtime(rng.randrange(24), rng.randrange(60), rng.randrange(60)), tzinfo=timezone.utc)
                if t >= now:
                    continue
                session = f"{pid}-{later}-{s}"
                batch = str(uuid.uuid4())
                n = rng.randint(8, 24)
                kinds = ["session_start"] + [rng.choice(("progression", "progression", "match_result", "resource",
                                                         "item_acquired")) for _ in range(n - 2)] + ["session_end"]
                if rng.random() < 0.03:
                    kinds.insert(n // 2, "purchase")
                step = timedelta(seconds=rng.uniform(5, 60))
                for seq, kind in enumerate(kinds, start=1):
                    revenue = None
                    if kind == "progression":
                        status = "fail" if rng.random() < 0.2 else "complete"
                        props = {"level": level, "status": status}
                        level += status == "complete"
                    elif kind == "match_result":
                        props = {"mode": rng.choice(MODES), "outcome": rng.choices(("win", "loss", "draw"), (47, 47, 6))[0]}
                    elif kind == "purchase":
                        revenue = rng.choice((0.99, 4.99, 9.99, 19.99))
                        props = {"item_id": "gems", "amount": revenue, "currency": "USD"}
                    elif kind == "session_end":
                        props = {"duration_s": (seq - 1) * step.total_seconds()}
                    elif kind == "resource":
                        props = {"flow": "source", "currency": "gold", "amount": rng.randint(1, 500)}
                    else:
                        props = {}
                    when = min(t + step * (seq - 1), now - timedelta(seconds=1))
                    yield (str(uuid.uuid4()), when, game, pid, kind, when, when, session, "android", "US",
                           json.dumps(props), batch, seq, later == 0 and seq == 1, revenue, 150)
                    made += 1


def bulk_load(settings, events: int, days: int) -> None:
    from store import db
    from store.partitions import PartitionWindow, ensure_partitions

    with db.connect(settings, autocommit=True) as conn:
        ensure_partitions(conn, window=PartitionWindow(days_back=days + 1, days_ahead=2))
        for game_id, name, _ in GAMES:
            conn.execute("INSERT INTO games (game_id, name) VALUES (%s, %s) ON CONFLICT DO NOTHING", (game_id, name))
    started = time.perf_counter()
    with db.connect(settings) as conn:
        with conn.cursor() as cur, cur.copy(
            "COPY player_events (event_id, event_time, game_id, player_id, event_type, client_ts, received_at, session_id, "
            "platform, country, properties, batch_id, session_seq, is_new_player, revenue_usd, delay_ms) FROM STDIN"
        ) as copy:
            for i, row in enumerate(simulated_rows(events, days)):
                copy.write_row(row)
                if i and i % 1_000_000 == 0:
                    print(f"  {i:,} events copied ({time.perf_counter() - started:.0f} s)", flush=True)
        conn.commit()
    print(f"  COPY done in {time.perf_counter() - started:.0f} s; building the rollups ...", flush=True)
    rollups = {
        "event_rollup_minute": """
            INSERT INTO event_rollup_minute (game_id, bucket, event_type, events, unique_players, revenue_usd)
            SELECT game_id, date_trunc('minute', event_time), event_type, count(*), count(DISTINCT player_id),
                   coalesce(sum(revenue_usd), 0) FROM player_events GROUP BY 1, 2, 3""",
        "player_daily_activity": """
            INSERT INTO player_daily_activity (game_id, day, player_id, events, sessions, revenue_usd)
            SELECT game_id, (event_time AT TIME ZONE 'UTC')::date, player_id, count(*),
                   count(*) FILTER (WHERE event_type = 'session_start'), coalesce(sum(revenue_usd), 0)
            FROM player_events GROUP BY 1, 2, 3""",
        "players": """
            INSERT INTO players (game_id, player_id, first_seen, last_seen, events, sessions, lifetime_revenue_usd,
                                 purchases, platform, country, app_version)
            SELECT game_id, player_id, min(event_time), max(event_time), count(*),
                   count(*) FILTER (WHERE event_type = 'session_start'), coalesce(sum(revenue_usd), 0),
                   count(*) FILTER (WHERE event_type = 'purchase'), 'android', 'US', '2.3.1'
            FROM player_events GROUP BY 1, 2""",
        "sessions": """
            INSERT INTO sessions (game_id, session_id, player_id, started_at, last_event_at, ended_at, duration_s, events)
            SELECT game_id, session_id, min(player_id), min(event_time), max(event_time),
                   max(event_time) FILTER (WHERE event_type = 'session_end'),
                   max((properties->>'duration_s')::float8) FILTER (WHERE event_type = 'session_end'), count(*)
            FROM player_events WHERE session_id IS NOT NULL GROUP BY 1, 2""",
        "match_outcomes_hourly": """
            INSERT INTO match_outcomes_hourly (game_id, bucket, mode, outcome, matches)
            SELECT game_id, date_trunc('hour', event_time), properties->>'mode', properties->>'outcome', count(*)
            FROM player_events WHERE event_type = 'match_result' GROUP BY 1, 2, 3, 4""",
    }
    with db.connect(settings) as conn:
        conn.execute("SET work_mem = '512MB'")
        conn.execute("SET TimeZone = 'UTC'")
        for table, statement in rollups.items():
            t0 = time.perf_counter()
            conn.execute(statement)
            conn.commit()
            print(f"  {table}: {time.perf_counter() - t0:.0f} s", flush=True)
    with db.connect(settings, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    print(f"  loaded in {time.perf_counter() - started:.0f} s", flush=True)


def table_bytes(settings) -> int:
    """player_events on disk (tables, indexes, toast; a hypertable's chunks and their compressed form)."""
    from store import db
    from store.backend import extension_schema, table_backend

    with db.connect(settings) as conn:
        if table_backend(conn) == "timescaledb":
            ts = extension_schema(conn)
            return conn.execute(f"SELECT {ts}.hypertable_size('player_events')").fetchone()[0]
        return conn.execute(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'player_events'::regclass"
        ).fetchone()[0]


def compress(settings, days: int) -> bool:
    from store import db, timescale
    from store.partitions import compress_older_than

    before = table_bytes(settings)
    with db.connect(settings, autocommit=True) as conn:
        t0 = time.perf_counter()
        done = compress_older_than(conn, days)
        elapsed = time.perf_counter() - t0
        if not done:
            print(f"compression: nothing compressed (store backend {schema_backend(settings)})", flush=True)
            return False
        conn.execute("ANALYZE player_events")
        stats = timescale.compression_stats(conn)
    after = table_bytes(settings)
    print(f"compression: {len(done)} chunks older than {days} days in {elapsed:.0f} s; those chunks "
          f"{stats.bytes_before / 2**20:,.0f} MiB -> {stats.bytes_after / 2**20:,.0f} MiB (ratio {stats.ratio:.1f}); "
          f"player_events {before / 2**20:,.0f} -> {after / 2**20:,.0f} MiB", flush=True)
    return True


def loaded_events(settings) -> int:
    from store import db

    with db.connect(settings) as conn:
        return conn.execute("SELECT count(*) FROM player_events").fetchone()[0]


# -- 2. the API and its queries -----------------------------------------------------------------


def start_api(settings, port: int) -> subprocess.Popen:
    import httpx

    from gamemetrics.envvars import settings_env

    env = {**os.environ, **settings_env(settings), "GAMEMETRICS_GRAPHQL_JWT_SECRET": SECRET,
           "GAMEMETRICS_LOG_LEVEL": "warning", "GAMEMETRICS_GRAPHQL_MAX_COST": "1000"}
    proc = subprocess.Popen([sys.executable, "-m", "graphql_api", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).json().get("live_caught_up"):
                return proc
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.2)
    raise SystemExit("the API did not become ready")


def standard_queries(game: str, days: int) -> dict[str, tuple[str, dict]]:
    today = datetime.now(timezone.utc).date()
    tomorrow = today + timedelta(days=1)
    start = tomorrow - timedelta(days=days)

    def iso(d: date) -> str:
        return f"{d.isoformat()}T00:00:00Z"

    week = tomorrow - timedelta(days=7)
    return {
        "games (+stats)": ("{ games { gameId stats { players eventsLast24h lastEventMinute } } }", {}),
        f"eventCounts {days}d by HOUR": (
            "query($g: String!, $f: DateTime!, $t: DateTime!) { eventCounts(gameId: $g, from: $f, to: $t, bucket: HOUR) "
            "{ total points { start events } } }", {"g": game, "f": iso(start), "t": iso(tomorrow)}),
        "eventCounts 1d by MINUTE": (
            "query($g: String!, $f: DateTime!, $t: DateTime!) { eventCounts(gameId: $g, from: $f, to: $t, bucket: MINUTE) "
            "{ total points { start events } } }", {"g": game, "f": iso(today), "t": iso(tomorrow)}),
        f"activeUsers {days}d DAY + stickiness": (
            "query($g: String!, $f: Date!, $t: Date!) { activeUsers(gameId: $g, from: $f, to: $t, granularity: DAY) "
            "{ points { activeUsers } stickiness { ratio } } }", {"g": game, "f": str(start), "t": str(tomorrow)}),
        f"activeUsers {days}d MONTH": (
            "query($g: String!, $f: Date!, $t: Date!) { activeUsers(gameId: $g, from: $f, to: $t, granularity: MONTH) "
            "{ points { activeUsers } } }", {"g": game, "f": str(start), "t": str(tomorrow)}),
        f"retention {days} cohorts x [1,7,30]": (
            "query($g: String!, $f: Date!, $t: Date!) { retention(gameId: $g, cohortFrom: $f, cohortTo: $t) "
            "{ cohorts { players days { rate } } average { rate } } }", {"g": game, "f": str(start), "t": str(tomorrow)}),
        "funnel 3 steps, 7d, within 1d": (
            "query($g: String!, $f: DateTime!, $t: DateTime!) { funnel(gameId: $g, from: $f, to: $t, within: \"1d\", "
            "steps: [{eventType: \"session_start\"}, {progression: {level: \"2\"}}, {eventType: \"purchase\"}]) "
            "{ steps { players } } }", {"g": game, "f": iso(week), "t": iso(tomorrow)}),
        f"revenue {days}d DAY": (
            "query($g: String!, $f: Date!, $t: Date!) { revenue(gameId: $g, from: $f, to: $t, bucket: DAY) "
            "{ total { revenueUsd arpdau arppu conversion } points { revenueUsd } } }",
            {"g": game, "f": str(start), "t": str(tomorrow)}),
        "sessions 7d (+ concurrency by HOUR)": (
            "query($g: String!, $f: DateTime!, $t: DateTime!) { sessions(gameId: $g, from: $f, to: $t) "
            "{ count medianSeconds concurrentPlayers(bucket: HOUR) { peak } } }", {"g": game, "f": iso(week), "t": iso(tomorrow)}),
        f"fairness {days}d": (
            "query($g: String!, $f: DateTime!, $t: DateTime!) { fairness(gameId: $g, from: $f, to: $t) "
            "{ modes { mode winRate } } }", {"g": game, "f": iso(start), "t": iso(tomorrow)}),
        "player + 20 recent events": (
            "query($g: String!) { player(gameId: $g, playerId: \"p1\") { events recentEvents(first: 20) "
            "{ edges { node { eventType } } } } }", {"g": game}),
        "pipeline": ("{ pipeline { consumerLag lastLandedEventTime deadLettersTotal } }", {}),
    }


def query_latencies(url: str, token: str, queries: dict[str, tuple[str, dict]], repeat: int) -> list[tuple[str, float, float]]:
    import httpx

    out = []
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
        for name, (query, variables) in queries.items():
            samples = []
            for i in range(repeat + 1):
                t0 = time.perf_counter()
                body = client.post("/graphql", json={"query": query, "variables": variables}).json()
                elapsed = (time.perf_counter() - t0) * 1000
                if body.get("errors"):
                    raise SystemExit(f"{name}: {body['errors']}")
                if i:  # the first run warms the caches
                    samples.append(elapsed)
            samples.sort()
            out.append((name, percentile(samples, 50), percentile(samples, 95)))
            print(f"  {name:<40} p50 {out[-1][1]:8.1f} ms   p95 {out[-1][2]:8.1f} ms", flush=True)
    return out


# -- 3. subscription fan-out --------------------------------------------------------------------


def processed_batch(game: str, player: str, events: int) -> dict:
    """A ProcessedEventBatch as a landing worker publishes it; ``processed_at`` is now."""
    now = datetime.now(timezone.utc)
    return {
        "batch_id": str(uuid.uuid4()), "game_id": game, "player_id": player, "received_at": now, "processed_at": now,
        "events": [{
            "event": {"event_id": str(uuid.uuid4()), "event_type": "progression", "player_id": player, "ts": now,
                      "event_time": now, "session_id": f"s-{player}", "platform": "android", "app_version": "2.3.1",
                      "country": "US", "properties": {"level": 1, "status": "complete"}},
            "is_new_player": False, "session_seq": i + 1, "revenue_usd": None, "player_lifetime_revenue_usd": None,
            "delay_ms": 100,
        } for i in range(events)],
    }


def publisher(settings, game: str, rate: float, duration: float, stop: threading.Event) -> None:
    from confluent_kafka import Producer

    from schemas.catalog import load_catalog
    from schemas.ids import schema_ids
    from schemas.wire import AvroSerializer
    from streams.topics import PROCESSED_EVENTS

    topic = settings.topic(PROCESSED_EVENTS.name)
    serializer = AvroSerializer(schema_ids(settings.schema_registry_url), topic, load_catalog().latest("ProcessedEventBatch"))
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap_servers, "acks": "1", "linger.ms": 2})
    per_message = 10
    interval = per_message / rate
    next_at = time.monotonic()
    end = next_at + duration
    i = 0
    while time.monotonic() < end and not stop.is_set():
        batch = processed_batch(game, f"live-{i % 500}", per_message)
        producer.produce(topic, key=batch["player_id"].encode(), value=serializer.encode(batch))
        producer.poll(0)
        i += 1
        next_at += interval
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    producer.flush(30)


async def fan_out(url: str, token: str, settings, game: str, subscribers: int, rate: float, duration: float) -> dict:
    from websockets.asyncio.client import connect

    query = ("subscription($g: String!) { liveEvents(gameId: $g) { dropped events { eventId eventType playerId "
             "processedAt } } }")
    sockets = []
    for _ in range(subscribers):
        ws = await connect(url.replace("http://", "ws://") + "/graphql", subprotocols=["graphql-transport-ws"],
                           max_size=None, ping_interval=None)
        await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
        await ws.recv()
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": {"g": game}}}))
        sockets.append(ws)
    await asyncio.sleep(1.0)  # subscriptions register asynchronously
    latencies: list[float] = []
    counts = {"messages": 0, "events": 0, "dropped": 0}
    stop = threading.Event()

    async def reader(ws) -> None:
        while True:
            raw = await ws.recv()
            now = time.time()
            message = json.loads(raw)
            if message.get("type") != "next":
                continue
            batch = message["payload"]["data"]["liveEvents"]
            counts["messages"] += 1
            counts["events"] += len(batch["events"])
            counts["dropped"] += batch["dropped"]
            seen = set()
            for event in batch["events"]:
                if event["processedAt"] not in seen:
                    seen.add(event["processedAt"])
                    latencies.append(now - datetime.fromisoformat(event["processedAt"]).timestamp())

    readers = [asyncio.create_task(reader(ws)) for ws in sockets]
    pub = threading.Thread(target=publisher, args=(settings, game, rate, duration, stop))
    t0 = time.monotonic()
    pub.start()
    while pub.is_alive():
        await asyncio.sleep(0.2)
    await asyncio.sleep(3.0)  # let the tail arrive
    elapsed = time.monotonic() - t0 - 3.0
    for task in readers:
        task.cancel()
    for ws in sockets:
        await ws.close()
    latencies.sort()
    return {
        "elapsed_s": elapsed, **counts,
        "messages_per_s": counts["messages"] / elapsed, "events_per_s": counts["events"] / elapsed,
        "expected_events": int(rate * duration) * subscribers,
        "latency_ms": {p: percentile(latencies, p) * 1000 for p in (50, 95, 99)},
    }


def main() -> None:
    global PREFIX, SCHEMA
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=40, help="runs of each query (after one warm-up)")
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--rate", type=float, default=2000.0, help="events/s published for the subscribers")
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--reuse", action="store_true", help="run on the events a previous --keep run loaded")
    parser.add_argument("--keep", action="store_true", help="keep the loaded schema and topics for a --reuse run")
    parser.add_argument("--port", type=int, default=18090)
    parser.add_argument("--schema", default=SCHEMA, help="the bench schema (and topic prefix): one per engineer on a shared stack")
    parser.add_argument("--compress-older-than", type=int, default=None, metavar="DAYS",
                        help="TimescaleDB: compress the chunks older than DAYS days, then query again")
    backend_option(parser)
    args = parser.parse_args()
    SCHEMA, PREFIX = args.schema, f"{args.schema.replace('_', '-')}."

    from graphql_api.auth import issue_token
    from graphql_api.settings import GraphQLSettings

    settings = deployment(args.reuse, args.backend)
    have = loaded_events(settings)
    if not args.reuse or have < args.events:
        print(f"bulk loading {args.events:,} events over {args.days} days ...", flush=True)
        bulk_load(settings, args.events, args.days)
        have = loaded_events(settings)
    print(f"{have:,} events in player_events ({SCHEMA}, store backend {schema_backend(settings)}); "
          f"{table_bytes(settings) / 2**20:,.0f} MiB with its indexes", flush=True)
    token = issue_token(GraphQLSettings(jwt_secret=SECRET), "analyst", ["*"], timedelta(hours=2), subject="bench")
    api = start_api(settings, args.port)
    url = f"http://127.0.0.1:{args.port}"
    try:
        print(f"query latency, {args.repeat} runs each, game {GAMES[0][0]} (~{GAMES[0][2]:.0%} of the events):", flush=True)
        query_latencies(url, token, standard_queries(GAMES[0][0], args.days), args.repeat)
        if args.compress_older_than is not None:
            what = "on the compressed chunks" if compress(settings, args.compress_older_than) else "again (nothing compressed)"
            print(f"query latency {what}, {args.repeat} runs each:", flush=True)
            query_latencies(url, token, standard_queries(GAMES[0][0], args.days), args.repeat)
        print(f"subscription fan-out: {args.subscribers} liveEvents subscribers, {args.rate:,.0f} events/s published "
              f"for {args.duration:.0f} s ...", flush=True)
        result = asyncio.run(fan_out(url, token, settings, "bench-live", args.subscribers, args.rate, args.duration))
        lat = result["latency_ms"]
        print(f"  delivered {result['messages_per_s']:,.0f} WebSocket messages/s, {result['events_per_s']:,.0f} events/s "
              f"over all subscribers ({result['events']:,} of {result['expected_events']:,} events, "
              f"{result['dropped']:,} dropped for slow readers)")
        print(f"  added latency (publish -> subscriber): p50 {lat[50]:.1f} ms, p95 {lat[95]:.1f} ms, p99 {lat[99]:.1f} ms")
    finally:
        os.killpg(api.pid, signal.SIGTERM)
        api.wait(30)
        if not args.keep:
            drop(settings)


def drop(settings) -> None:
    from store.migrate import drop_schema
    from streams.topics import delete_topics

    drop_schema(settings)
    delete_topics(settings.kafka_bootstrap_servers, PREFIX)
    print(f"dropped schema {SCHEMA} and the {PREFIX}* topics (--keep keeps them)")


if __name__ == "__main__":
    main()
