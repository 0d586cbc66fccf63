"""Retention and GDPR benchmark: N events over D days of many players in PostgreSQL (native
daily partitions), then

  - archive: one `retention run` over the expired half of the days (Parquet to the real S3
    server, verified, partitions dropped): rows/s and Parquet bytes per event;
  - erase: one player active on many days, from every store (hot partitions, the archived days'
    Parquet objects, caches): seconds, and what it touched;
  - export: another such player's bundle: seconds and size.

    python bench/retention.py [--events 1000000] [--days 30] [--players 20000] [--record]

Uses its own topic prefix, database schema and bucket (emptied at the end), on the stack's S3
server (or the one GAMEMETRICS_S3_* names).
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import append_results, fresh_deployment  # noqa: E402

GAME = "bench-game"


def seed(settings, events: int, days: int, players: int) -> float:
    from store import db
    from store.partitions import PartitionWindow, ensure_partitions

    today = datetime.now(timezone.utc).date()
    per_day = events // days
    started = time.perf_counter()
    with db.connect(settings, autocommit=True) as conn:
        ensure_partitions(conn, today=today, window=PartitionWindow(days_back=days, days_ahead=1))
        for d in range(days, 0, -1):
            day = today - timedelta(days=d)
            # a player plays on a day with probability ~1/3 (player p is active on days where (p + d) % 3 == 0),
            # so an active player has ~D/3 days of events and each day holds a third of the players
            conn.execute(
                """
                INSERT INTO player_events (event_id, event_time, game_id, player_id, event_type, client_ts, received_at,
                    session_id, platform, app_version, country, properties, batch_id, session_seq, is_new_player,
                    revenue_usd, delay_ms)
                SELECT gen_random_uuid(), t, %(game)s, 'player-' || p, CASE WHEN i %% 20 = 0 THEN 'purchase'
                       ELSE 'level_up' END, t, t + interval '2 seconds', 's-' || p || '-' || %(d)s, 'ios', '1.4.2', 'DE',
                       jsonb_build_object('level', i %% 50, 'mode', 'ranked'), gen_random_uuid(), i %% 40, false,
                       CASE WHEN i %% 20 = 0 THEN 4.99 END, 2000
                FROM (SELECT i, (3 * ((i * 7919) %% (%(players)s / 3)) + (3 - %(d)s %% 3) %% 3) AS p,
                             %(day)s::timestamptz + (i %% 86400) * interval '1 second' AS t
                      FROM generate_series(1::int8, %(n)s) AS i) AS g
                """,
                {"game": GAME, "d": d, "players": players, "day": day, "n": per_day},
            )
        conn.execute("ANALYZE player_events")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--players", type=int, default=20_000)
    parser.add_argument("--record", action="store_true", help="Append the figures to bench/RESULTS.md.")
    args = parser.parse_args()

    from retention.gdpr import requests
    from retention.objects import ObjectStore
    from retention.run import run_gdpr_now, run_pass
    from retention.settings import GdprSettings, OtherStages, RetentionSettings, S3Settings
    from store import db
    from store.audit import AuditLog
    from store.migrate import drop_schema
    from store.privacy import PlayerHasher

    tag = uuid.uuid4().hex[:8]
    _, settings = fresh_deployment(f"bench-ret-{tag}.", f"bench_ret_{tag}")  # starts the stack's S3 unless GAMEMETRICS_S3_* names one
    s3 = S3Settings().model_copy(update={"bucket": f"bench-{tag}"})
    hot_days = args.days // 2
    retention = RetentionSettings(events_hot_days=hot_days)
    gdpr = GdprSettings()
    stages = OtherStages.load()
    try:
        seed_s = seed(settings, args.events, args.days, args.players)
        print(f"seeded {args.events} events over {args.days} days in {seed_s:.1f} s")
        started = time.perf_counter()
        summary = run_pass(settings, s3, retention, gdpr, stages, progress=True)
        archive_s = time.perf_counter() - started
        a = summary.archive
        print(f"archive: {a.rows_archived} rows, {a.bytes_archived} bytes, {a.partitions_dropped} partitions dropped"
              f" in {archive_s:.1f} s")
        with db.connect(settings, autocommit=True) as conn:
            total_left = conn.execute("SELECT count(*) FROM player_events").fetchone()[0]
            victim, victim_events = conn.execute(
                "SELECT player_id, count(*) FROM player_events GROUP BY 1 ORDER BY 2 DESC LIMIT 1").fetchone()
            other = conn.execute("SELECT player_id FROM player_events WHERE player_id <> %s LIMIT 1",
                                 (victim,)).fetchone()[0]
            erase = requests.create(conn, PlayerHasher.of(settings), AuditLog.of(settings), "erase", GAME, victim,
                                    "bench")
            export = requests.create(conn, PlayerHasher.of(settings), AuditLog.of(settings), "export", GAME, other,
                                     "bench")
        started = time.perf_counter()
        erased = run_gdpr_now(settings, s3, retention, gdpr, stages, str(erase.request_id))
        erase_s = time.perf_counter() - started
        receipt = erased.receipts[str(erase.request_id)]
        pg = receipt["stores"]["postgresql"]["player_events"]
        arch = receipt["stores"]["archives"]
        print(f"erase: {erase_s:.2f} s ({pg} rows from PostgreSQL, {arch['archived_rows']} archived rows in"
              f" {arch['parquet_objects_rewritten']} Parquet objects)")
        started = time.perf_counter()
        exported = run_gdpr_now(settings, s3, retention, gdpr, stages, str(export.request_id))
        export_s = time.perf_counter() - started
        ereceipt = exported.receipts[str(export.request_id)]
        print(f"export: {export_s:.2f} s ({ereceipt['stores']['export']['events']} events, {ereceipt['bytes']} bytes)")
        lines = [
            f"- data: {args.events:,} events over {args.days} days, {args.players:,} players, one game; "
            f"{hot_days} days hot (in PostgreSQL, {total_left:,} rows left), {args.days - hot_days} days archived",
            f"- archive: {a.rows_archived:,} rows in {archive_s:.1f} s = **{a.rows_archived / archive_s:,.0f} rows/s** "
            f"(read + Parquet zstd + DuckDB verify + upload + verified partition drop); "
            f"**{a.bytes_archived / max(a.rows_archived, 1):.1f} bytes/event** in Parquet",
            f"- erase of the most active player ({victim_events} hot rows + {arch['archived_rows']} archived rows in "
            f"{arch['parquet_objects_rewritten']} objects): **{erase_s:.2f} s**",
            f"- export of one player ({ereceipt['stores']['export']['events']} events, {ereceipt['bytes']:,} bytes zip): "
            f"**{export_s:.2f} s**",
            f"- seeding (INSERT ... SELECT, not part of the figures): {seed_s:.0f} s",
            "- shared 2-core machine with six other engineers' builds and tests running (load average ~11): "
            "figures are lower bounds",
        ]
        print("\n".join(lines))
        if args.record:
            append_results("Retention and GDPR (bench/retention.py)", lines)
    finally:
        drop_schema(settings)
        objects = ObjectStore(s3)
        if not objects.ensure_bucket():  # it existed: empty it
            for key in list(objects.keys("")):
                objects.delete(key)


if __name__ == "__main__":
    main()
