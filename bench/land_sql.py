"""Where PostgreSQL's time goes when landing: CPU of the landing connection's backend process per
statement, in µs per landed event, on the real sink (processors/postgres_sink.py).

    python bench/land_sql.py [--events 200000] [--batch-size 100] [--group 10] [--players 20000]
                             [--backend auto] [--schema bench_land]
                             [--sql "DROP INDEX player_events_game_time"] [--explain] [--record]

Builds the raw messages the ingest would write (simulated clients, one player per request of
``--batch-size`` events, as bench/e2e.py sends them), then lands them ``--group`` messages per
transaction through ``LandingSteps`` on the real PostgreSQL sink with an in-memory publisher (Kafka
is not what is measured). Before and after each sink call it reads the backend's CPU from
/proc/<pid>/stat (the backend runs on this machine), so the figures are the server's own CPU per
statement, not wall time, and stay meaningful on a busy machine. ``--sql`` runs statements on the
fresh schema first (an index dropped or changed) to price a design change. The WAL writer, the
checkpointer and autovacuum are not in these figures (they serve every schema of the cluster).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import append_results, backend_option, cpu_seconds, fresh_deployment, schema_backend  # noqa: E402

CALLS = ("lock_players", "tombstones", "claim_keys", "state", "land")


def raw_messages(total: int, batch_size: int, players: int) -> list:
    """The raw topic's messages for ``total`` events, as ingest encodes them."""
    from ingest.batching import group_by_player
    from ingest.validation import validate_batch
    from operations.simulate import Simulator
    from processors.landing import Message
    from schemas.catalog import load_catalog
    from schemas.ids import CatalogIds
    from schemas.wire import AvroSerializer
    from streams.topics import RAW_EVENTS

    serializer = AvroSerializer(CatalogIds(), "raw", load_catalog().latest(RAW_EVENTS.value_schema), logical=False)
    sim = Simulator(players, seed=7)
    now = int(time.time() * 1000)
    out: list[Message] = []
    made = 0
    while made < total:
        events = sim.next_events(min(batch_size, total - made), now)
        accepted, _ = validate_batch(events, now + 40, now)
        for key, batch in group_by_player(accepted, GAME_ID, now + 40, now, None):
            out.append(Message("raw", 0, len(out), key, serializer.encode(batch)))
        made += len(events)
    return out


GAME_ID = "bench-land"


async def land_all(settings, messages: list, group: int) -> tuple[dict[str, float], int, float]:
    from processors import postgres_sink
    from processors.landing import LandingSteps
    from processors.memory import InMemoryPublisher
    from schemas.ids import CatalogIds

    sink = postgres_sink.PostgresSink(settings)
    steps = LandingSteps(CatalogIds(), sink, InMemoryPublisher())
    spent: dict[str, float] = {name: 0.0 for name in (*CALLS, "commit and the rest")}
    pid_box: list[int] = []

    def timed(name: str, method):
        async def wrapper(self, *args, **kwargs):
            if not pid_box:
                pid_box.append(self._conn.info.backend_pid)
            before = cpu_seconds(pid_box[0])
            try:
                return await method(self, *args, **kwargs)
            finally:
                spent[name] += cpu_seconds(pid_box[0]) - before
        return wrapper

    originals = {name: getattr(postgres_sink.LandingTransaction, name) for name in CALLS}
    for name, method in originals.items():
        setattr(postgres_sink.LandingTransaction, name, timed(name, method))
    landed = 0
    try:
        await steps.run(messages[:group])  # warm-up: the connection, the stage table, the plans
        for name in spent:
            spent[name] = 0.0
        total_before = cpu_seconds(pid_box[0])
        started, client_before = time.perf_counter(), time.process_time()
        for i in range(group, len(messages), group):
            outcome = await steps.run(messages[i:i + group])
            landed += outcome.landed
        wall = time.perf_counter() - started
        spent["(landing process: steps 1-8 in Python)"] = time.process_time() - client_before
        total = cpu_seconds(pid_box[0]) - total_before
        spent["commit and the rest"] = total - sum(v for k, v in spent.items() if k in CALLS)
    finally:
        for name, method in originals.items():
            setattr(postgres_sink.LandingTransaction, name, method)
        await sink.close()
    return spent, landed, wall


async def explain_land(settings, messages: list) -> str:
    """The rollup statement's plan with actual times, for one group (rows COPYed first; rolled back)."""
    from processors import postgres_sink
    from processors.copy_rows import events_copy
    from processors.landing import LandingSteps
    from processors.memory import InMemoryPublisher
    from processors.rollups import aggregate
    from schemas.ids import CatalogIds

    plans: list[str] = []

    class Explained(Exception):
        pass

    async def land(self, events):
        async with self._conn.cursor() as cur:
            await postgres_sink.copy_in(cur, postgres_sink.EVENTS_COPY, events_copy(events))
            await cur.execute("EXPLAIN (ANALYZE, BUFFERS, WAL) " + postgres_sink._ROLL_UP,
                              postgres_sink.roll_up_params(aggregate(events)))
            plans.extend(r[0] for r in await cur.fetchall())
        raise Explained

    original = postgres_sink.LandingTransaction.land
    postgres_sink.LandingTransaction.land = land
    sink = postgres_sink.PostgresSink(settings)
    try:
        await LandingSteps(CatalogIds(), sink, InMemoryPublisher()).run(messages)
    except Explained:
        pass
    finally:
        postgres_sink.LandingTransaction.land = original
        await sink.close()
    return "\n".join(plans)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch-size", type=int, default=100, help="events per client request (one player each)")
    parser.add_argument("--group", type=int, default=10, help="Kafka messages per landing transaction")
    parser.add_argument("--players", type=int, default=20_000)
    backend_option(parser)
    parser.add_argument("--schema", default="bench_land", help="the (dropped and re-made) bench schema")
    parser.add_argument("--sql", action="append", default=[], help="statement run on the fresh schema first")
    parser.add_argument("--explain", action="store_true",
                        help="then land one more group under EXPLAIN (ANALYZE, BUFFERS) and print the plan")
    parser.add_argument("--record", action="store_true", help="append the results to bench/RESULTS.md")
    args = parser.parse_args()

    from store import db

    from gamemetrics.logs import configure_logging

    _stack, settings = fresh_deployment(f"{args.schema.replace('_', '-')}.", args.schema, args.backend)
    configure_logging(settings.model_copy(update={"log_level": "warning"}))
    with db.connect(settings, autocommit=True) as conn:
        for statement in args.sql:
            conn.execute(statement)
    messages = raw_messages(args.events, args.batch_size, args.players)
    spent, landed, wall = asyncio.run(land_all(settings, messages, args.group))
    if args.explain:
        extra = raw_messages(args.batch_size * args.group, args.batch_size, args.players)
        print(asyncio.run(explain_land(settings, extra)))
    client = spent.pop("(landing process: steps 1-8 in Python)")
    per = {k: v / max(landed, 1) * 1e6 for k, v in spent.items()}
    total = sum(per.values())
    lines = [f"{'sink call':<24}{'µs/event':>10}"]
    lines += [f"{name:<24}{us:>10.1f}" for name, us in sorted(per.items(), key=lambda kv: -kv[1])]
    lines.append(f"{'backend total':<24}{total:>10.1f}")
    lines.append(f"{'landing process (Python)':<24}{client / max(landed, 1) * 1e6:>10.1f}   (in-memory publisher: no Kafka encode)")
    head = (f"{landed:,} events landed, {args.batch_size} per request, {args.group} messages per transaction, "
            f"{args.players:,} players; store backend {schema_backend(settings)}; {landed / wall:,.0f} events/s wall; "
            f"load average {os.getloadavg()[0]:.1f}"
            + (f"; first: {'; '.join(args.sql)}" if args.sql else ""))
    print(head)
    print("\n".join(lines))
    if args.record:
        append_results("Landing SQL, PostgreSQL backend CPU per call (bench/land_sql.py)", [head, "", "```", *lines, "```"])


if __name__ == "__main__":
    main()
