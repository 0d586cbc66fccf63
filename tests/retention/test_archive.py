"""Archive -> drop -> restore on the real PostgreSQL and the real S3 server; kill -9 mid-pass."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import date, timedelta

import pytest

from retention.objects import ObjectStore
from retention.restore import query, restore
from retention.run import run_pass
from retention.settings import OtherStages
from store import db
from store.partitions import daily_partitions, expired_days
from store.privacy import PlayerHasher
from tests.retention.seed import all_rows, partitions_around, seed_day

pytestmark = pytest.mark.integration

TODAY = date(2026, 12, 1)
OLD = [TODAY - timedelta(days=n) for n in (100, 99, 98)]  # past the 90-day default
HOT = TODAY - timedelta(days=10)


def seed(settings) -> dict[str, list[tuple]]:
    with db.connect(settings, autocommit=True) as conn:
        partitions_around(conn, OLD[1], days_back=1, days_ahead=0)  # OLD[0], OLD[1] partitioned; OLD[2] in default
        for day in OLD:
            seed_day(conn, "g1", day, ["ana", "bo"], 40)
            seed_day(conn, "g2", day, ["cy"], 25)
        seed_day(conn, "g1", HOT, ["ana"], 10)
        return {"old": all_rows(conn, "event_time < %s", (HOT,)), "hot": all_rows(conn, "event_time >= %s", (HOT,))}


def test_archive_drop_restore_gives_back_identical_rows(isolated, store_backend, s3, retention_settings,
                                                        gdpr_settings):
    before = seed(isolated)
    summary = run_pass(isolated, s3, retention_settings, gdpr_settings, OtherStages.load(), today=TODAY, progress=False)
    assert summary.archive.rows_archived == len(before["old"]) == 3 * (80 + 25)
    assert summary.archive.parts_written == 6
    # native: two day partitions (the third old day sits in the default partition); a hypertable: a chunk per day
    assert summary.archive.partitions_dropped == (2 if store_backend == "native" else 3)
    assert not summary.archive.mismatches
    with db.connect(isolated, autocommit=True) as conn:
        assert all_rows(conn) == before["hot"]  # only the hot day is left in PostgreSQL
        assert not {d for d in daily_partitions(conn) if d in OLD}
        assert not set(expired_days(conn, HOT)) & set(OLD)
        states = conn.execute("SELECT state, count(*) FROM archive_manifest GROUP BY 1").fetchall()
        assert states == [("dropped", 6)]
        objects = ObjectStore(s3)
        keys = sorted(objects.keys("events/"))
        assert keys[0] == f"events/game_id=g1/date={OLD[0]}/part-0000.parquet" and len(keys) == 6
        # the analyst's view: DuckDB over the objects in place
        _, rows = query(conn, objects, "SELECT game_id, count(*), sum(revenue_usd) FROM events GROUP BY 1 ORDER BY 1")
        assert [(g, n) for g, n, _ in rows] == [("g1", 240), ("g2", 75)]
        # a second pass finds nothing to do
        again = run_pass(isolated, s3, retention_settings, gdpr_settings, OtherStages.load(), today=TODAY, progress=False)
        assert again.archive.rows_archived == 0 and again.archive.game_days_dropped == 0
        parts, inserted = restore(conn, objects, PlayerHasher.of(isolated), "g1", OLD[0], OLD[2], progress=False)
        assert (parts, inserted) == (3, 240)
        assert restore(conn, objects, PlayerHasher.of(isolated), "g1", OLD[0], OLD[2], progress=False) == (3, 0)
        restore(conn, objects, PlayerHasher.of(isolated), "g2", OLD[0], OLD[2], progress=False)
        assert all_rows(conn) == sorted(before["old"] + before["hot"], key=lambda r: r[0])  # every column identical
    # restored days stay a while, then the pass drops them again without uploading anything new
    later = TODAY + timedelta(days=retention_settings.restore_keep_days + 1)
    with db.connect(isolated, autocommit=True) as conn:
        conn.execute("UPDATE archive_manifest SET restored_at = restored_at - interval '30 days'")
    dropped = run_pass(isolated, s3, retention_settings, gdpr_settings, OtherStages.load(), today=later, progress=False)
    assert dropped.archive.parts_written == 0 and dropped.archive.rows_dropped == len(before["old"])
    assert len(list(ObjectStore(s3).keys("events/"))) == 6


def test_a_game_with_a_longer_policy_keeps_its_rows_while_the_others_are_archived(
        isolated, s3, retention_settings, gdpr_settings):
    from retention.policies import set_policy

    before = seed(isolated)
    with db.connect(isolated, autocommit=True) as conn:
        conn.execute("INSERT INTO games (game_id, name) VALUES ('g2', 'Game two')")
        set_policy(conn, "g2", "player_events", 365)
    summary = run_pass(isolated, s3, retention_settings, gdpr_settings, OtherStages.load(), today=TODAY, progress=False)
    assert summary.archive.parts_written == 3 and summary.archive.partitions_dropped == 0
    with db.connect(isolated, autocommit=True) as conn:
        kept = all_rows(conn, "game_id = 'g2'")
        assert kept == [r for r in before["old"] if r[2] == "g2"]
        assert all_rows(conn, "game_id = 'g1' AND event_time < %s", (HOT,)) == []


KILLER = """
import os, signal, sys
from datetime import date
from gamemetrics.settings import load_settings
from retention.run import run_pass
from retention.settings import GdprSettings, OtherStages, RetentionSettings, S3Settings
step, nth = sys.argv[1], int(sys.argv[2])
seen = []
def on_step(name):
    if name == step:
        seen.append(name)
        if len(seen) == nth:
            os.kill(os.getpid(), signal.SIGKILL)
run_pass(load_settings(), S3Settings(), RetentionSettings(row_group_rows=1000), GdprSettings(), OtherStages.load(),
         today=date.fromisoformat(sys.argv[3]), progress=False, on_step=on_step)
"""


@pytest.mark.parametrize("step,nth", [("exported", 2), ("uploaded", 3), ("recorded", 4), ("verified-drop", 1)])
def test_kill_9_mid_archive_then_rerun_loses_nothing_and_archives_nothing_twice(
        isolated, s3, retention_settings, gdpr_settings, step, nth):
    from gamemetrics.envvars import settings_env

    before = seed(isolated)
    env = {**os.environ, **settings_env(isolated), "GAMEMETRICS_S3_ENDPOINT_URL": s3.endpoint_url,
           "GAMEMETRICS_S3_BUCKET": s3.bucket}
    proc = subprocess.run([sys.executable, "-c", KILLER, step, str(nth), TODAY.isoformat()], env=env,
                          capture_output=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    summary = run_pass(isolated, s3, retention_settings, gdpr_settings, OtherStages.load(), today=TODAY, progress=False)
    assert not summary.archive.mismatches
    with db.connect(isolated, autocommit=True) as conn:
        assert all_rows(conn) == before["hot"]
        assert conn.execute("SELECT count(*), count(DISTINCT (game_id, day)) FROM archive_manifest"
                            " WHERE state = 'dropped'").fetchone() == (6, 6)
        objects = ObjectStore(s3)
        _, rows = query(conn, objects, "SELECT count(*), count(DISTINCT event_id) FROM events")
        assert rows == [(len(before["old"]), len(before["old"]))]
        # every archived row, column for column, is one PostgreSQL had
        restore(conn, objects, PlayerHasher.of(isolated), "g1", OLD[0], OLD[2], progress=False)
        restore(conn, objects, PlayerHasher.of(isolated), "g2", OLD[0], OLD[2], progress=False)
        assert all_rows(conn) == sorted(before["old"] + before["hot"], key=lambda r: r[0])
    assert len(list(objects.keys("events/"))) == 6  # no orphan left behind either


def test_a_big_day_is_split_by_player_so_an_erase_rewrites_one_object(isolated, s3, gdpr_settings):
    from retention.gdpr import requests
    from retention.run import run_gdpr_now
    from retention.settings import RetentionSettings
    from store.audit import AuditLog

    settings = RetentionSettings(row_group_rows=100, bucket_rows=40)
    players = [f"p{i}" for i in range(10)]
    with db.connect(isolated, autocommit=True) as conn:
        seed_day(conn, "g1", OLD[0], players, 30)
        before = all_rows(conn)
    summary = run_pass(isolated, s3, settings, gdpr_settings, OtherStages.load(), today=TODAY, progress=False)
    assert summary.archive.rows_archived == 300 and not summary.archive.mismatches
    with db.connect(isolated, autocommit=True) as conn:
        parts = conn.execute("SELECT bucket, buckets, rows FROM archive_manifest ORDER BY bucket").fetchall()
        assert {b for _, b, _ in parts} == {4} and 2 <= len(parts) <= 4 and sum(r for _, _, r in parts) == 300
        erase = requests.create(conn, PlayerHasher.of(isolated), AuditLog.of(isolated), "erase", "g1", "p3", "dpo")
    receipt = run_gdpr_now(isolated, s3, settings, gdpr_settings, OtherStages.load(), str(erase.request_id)).receipts[str(erase.request_id)]
    assert receipt["stores"]["archives"] == {"parquet_objects_rewritten": 1, "archived_rows": 30}
    with db.connect(isolated, autocommit=True) as conn:
        assert restore(conn, ObjectStore(s3), PlayerHasher.of(isolated), "g1", OLD[0], OLD[0], progress=False)[1] == 270
        assert all_rows(conn) == [r for r in before if r[3] != "p3"]
