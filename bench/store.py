"""Store benchmark: queries straight on ``player_events`` (the raw events, not the rollups), on
the row store and then on compressed TimescaleDB chunks, with the compression ratio.

    python bench/store.py [--events 1000000] [--days 30] [--repeat 15] [--backend auto]
                          [--compress-older-than 2] [--record]

Bulk-loads simulated events as bench/graphql.py does (schema ``bench_store``, dropped at the end),
runs each query ``--repeat`` times (after one warm-up; the queries take turns, so a burst of load
from elsewhere spreads over all of them), compresses the days older than ``--compress-older-than``
days (TimescaleDB; nothing on native partitions, where the second round shows the run-to-run
spread) and runs them again. Prints p50/p95 in ms.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import append_results, backend_option, schema_backend  # noqa: E402
from operations.loadgen import percentile  # noqa: E402

PREFIX, SCHEMA = "bench-store.", "bench_store"
GAME = "bench-starfall"


def queries(days: int) -> dict[str, tuple[str, dict]]:
    now = datetime.now(timezone.utc)
    week, month = now - timedelta(days=7), now - timedelta(days=days)
    return {
        "events by type, 1 game, 7 d": (
            "SELECT event_type, count(*) FROM player_events WHERE game_id = %(g)s AND event_time >= %(f)s GROUP BY 1",
            {"g": GAME, "f": week}),
        f"daily players, 1 game, {days} d": (
            "SELECT date_trunc('day', event_time), count(DISTINCT player_id) FROM player_events"
            " WHERE game_id = %(g)s AND event_time >= %(f)s GROUP BY 1", {"g": GAME, "f": month}),
        f"purchases by day, 1 game, {days} d": (
            "SELECT date_trunc('day', event_time), sum(revenue_usd) FROM player_events"
            " WHERE game_id = %(g)s AND event_type = 'purchase' AND event_time >= %(f)s GROUP BY 1",
            {"g": GAME, "f": month}),
        "one player's 20 latest events": (
            "SELECT event_type, event_time FROM player_events WHERE game_id = %(g)s AND player_id = %(p)s"
            " ORDER BY event_time DESC LIMIT 20", {"g": GAME, "p": "p1"}),
        "one day, 1 game, count": (
            "SELECT count(*) FROM player_events WHERE game_id = %(g)s AND event_time >= %(f)s AND event_time < %(t)s",
            {"g": GAME, "f": now - timedelta(days=10), "t": now - timedelta(days=9)}),
    }


def latencies(settings, named: dict[str, tuple[str, dict]], repeat: int) -> dict[str, tuple[float, float]]:
    from store import db

    samples: dict[str, list[float]] = {name: [] for name in named}
    with db.connect(settings, autocommit=True) as conn:
        conn.execute("SET jit = off")  # as the API runs its queries
        for i in range(repeat + 1):
            for name, (query, params) in named.items():
                t0 = time.perf_counter()
                conn.execute(query, params).fetchall()
                if i:
                    samples[name].append((time.perf_counter() - t0) * 1000)
    out = {}
    for name, values in samples.items():
        values.sort()
        out[name] = (percentile(values, 50), percentile(values, 95))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--compress-older-than", type=int, default=2, metavar="DAYS")
    parser.add_argument("--record", action="store_true", help="append the results to bench/RESULTS.md")
    backend_option(parser)
    args = parser.parse_args()

    from bench import graphql as g
    from store import db, timescale
    from store.partitions import compress_older_than

    g.PREFIX, g.SCHEMA = PREFIX, SCHEMA
    settings = g.deployment(False, args.backend)
    backend = schema_backend(settings)
    try:
        print(f"bulk loading {args.events:,} events over {args.days} days (store backend {backend}) ...", flush=True)
        g.bulk_load(settings, args.events, args.days)
        named = queries(args.days)
        size_before = g.table_bytes(settings)
        before = latencies(settings, named, args.repeat)
        with db.connect(settings, autocommit=True) as conn:
            t0 = time.perf_counter()
            done = compress_older_than(conn, args.compress_older_than)
            compress_s = time.perf_counter() - t0
            conn.execute("ANALYZE player_events")
            stats = timescale.compression_stats(conn) if done else None
        size_after = g.table_bytes(settings)
        after = latencies(settings, named, args.repeat)
    finally:
        g.drop(settings)
    second = "compressed" if done else "again (nothing compressed)"
    if stats:
        print(f"compression: {len(done)} chunks in {compress_s:.0f} s, {stats.bytes_before / 2**20:,.0f} MiB -> "
              f"{stats.bytes_after / 2**20:,.0f} MiB (ratio {stats.ratio:.1f})")
    print(f"player_events: {size_before / 2**20:,.0f} MiB -> {size_after / 2**20:,.0f} MiB")
    rows = [f"| {name} | {before[name][0]:.1f} / {before[name][1]:.1f} | {after[name][0]:.1f} / {after[name][1]:.1f} |"
            for name in named]
    print(f"query p50 / p95 ms: row store | {second}")
    print("\n".join(rows))
    if args.record:
        ratio = (f"{len(done)} chunks compressed in {compress_s:.0f} s, ratio {stats.ratio:.1f}" if stats
                 else "nothing to compress on native partitions: the second column is the run-to-run spread")
        append_results(f"Store queries on player_events, {backend} (bench/store.py)", [
            f"`python bench/store.py --events {args.events} --days {args.days} --repeat {args.repeat} --backend"
            f" {args.backend}`; player_events {size_before / 2**20:,.0f} MiB -> {size_after / 2**20:,.0f} MiB; {ratio}."
            " 2 cores shared with six other engineers' test runs (load average 10-17): compare within a run.",
            "", f"| query (raw events) | p50 / p95 ms | {second}: p50 / p95 ms |", "|---|---:|---:|", *rows,
        ])


if __name__ == "__main__":
    main()
