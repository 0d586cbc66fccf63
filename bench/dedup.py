"""The landing dedup in PostgreSQL alone: server time per event of the probe and of writing the
keys, for the (event id, client ts) design in ``event_keys`` next to the previous design (a probe
of ``player_events`` by event id within 24 h of the event time).

    python bench/dedup.py [--days 3] [--per-day 200000] [--batch 1000] [--rounds 30] [--record]

Fills ``player_events``-shaped and ``event_keys`` tables in a schema of its own (``bench_dedup``,
created fresh) with ``--per-day`` rows on each of ``--days`` days, then times ``--rounds`` probes
of ``--batch`` ids (half stored, half new) with EXPLAIN ANALYZE (server execution time, no client
or network in the figure) and the INSERT of a batch of keys.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import append_results  # noqa: E402

DAY_MS = 86_400_000
OLD_PROBE = ("SELECT event_id::text FROM player_events WHERE event_id = ANY(%s::uuid[]) "
             "AND event_time BETWEEN to_timestamp(%s / 1000.0) - interval '24 hours' AND to_timestamp(%s / 1000.0) + interval '24 hours'")


def execution_ms(conn, query: str, params) -> float:
    plan = conn.execute("EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + query, params).fetchone()[0][0]
    return float(plan["Execution Time"])


def main() -> None:
    from gamemetrics.settings import load_settings
    from processors.postgres_sink import _EXISTING
    from store import db
    from store.migrate import drop_schema, upgrade

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--per-day", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--record", action="store_true", help="append the results to bench/RESULTS.md")
    args = parser.parse_args()

    settings = load_settings().model_copy(update={"database_schema": "bench_dedup"})
    drop_schema(settings)
    upgrade(settings)
    now = int(time.time() * 1000)
    stored: list[tuple[str, int]] = []
    with db.connect(settings, autocommit=True) as conn:
        for day in range(args.days):
            ids = [str(uuid.uuid4()) for _ in range(args.per_day)]
            times = [now - day * DAY_MS - i for i in range(args.per_day)]
            conn.execute(
                "INSERT INTO player_events (event_id, event_time, game_id, player_id, event_type, client_ts, "
                "received_at, properties, batch_id) SELECT u, to_timestamp(t / 1000.0), 'g', 'p', 'x', "
                "to_timestamp(t / 1000.0), to_timestamp(t / 1000.0), '{}', u FROM unnest(%s::uuid[], %s::int8[]) AS x(u, t)",
                (ids, times))
            conn.execute("INSERT INTO event_keys SELECT u, 'epoch'::timestamptz + t * interval '1 millisecond' "
                         "FROM unnest(%s::uuid[], %s::int8[]) AS x(u, t)", (ids, times))
            if day == 0:  # retries of recent events: what a probe finds stored
                stored += list(zip(ids[: args.batch * args.rounds], times[: args.batch * args.rounds]))
            print(f"filled day -{day}: {args.per_day:,} rows", flush=True)
        conn.execute("ANALYZE player_events")
        conn.execute("ANALYZE event_keys")
        old, new, insert = [], [], []
        for r in range(args.rounds):
            half = stored[r * args.batch // 2:(r + 1) * args.batch // 2]
            fresh = [(str(uuid.uuid4()), now - r - i) for i in range(args.batch - len(half))]
            batch = half + fresh
            ids, ts = [b[0] for b in batch], [b[1] for b in batch]
            old.append(execution_ms(conn, OLD_PROBE, (ids, min(ts), max(ts))))
            new.append(execution_ms(conn, _EXISTING, (ids, min(ts), max(ts))))
            with conn.transaction():
                insert.append(execution_ms(conn, "INSERT INTO event_keys SELECT u, 'epoch'::timestamptz + t * interval "
                                                 "'1 millisecond' FROM unnest(%s::uuid[], %s::int8[]) AS x(u, t)",
                                           ([f[0] for f in fresh], [f[1] for f in fresh])))
                conn.execute("ROLLBACK")
                conn.execute("BEGIN")
    drop_schema(settings)
    per_event = lambda ms_list, n: statistics.median(ms_list) * 1000 / n  # noqa: E731
    lines = [
        f"- {args.days} days x {args.per_day:,} rows, probes of {args.batch} ids (half stored, all from the last day), {args.rounds} rounds, median server time:",
        f"  - previous probe (player_events, event id within 24 h of event_time): {per_event(old, args.batch):.2f} µs/event",
        f"  - event_keys probe (event id, client ts; the group's client days only): {per_event(new, args.batch):.2f} µs/event",
        f"  - writing the keys (INSERT into event_keys, new rows only): {per_event(insert, args.batch // 2):.2f} µs/event",
    ]
    print("\n".join(lines))
    if args.record:
        append_results("Landing dedup (bench/dedup.py)", lines)


if __name__ == "__main__":
    main()
