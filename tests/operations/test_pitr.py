"""The PITR drill (issue 26, items 1 and 2): pgBackRest backs up a PostgreSQL cluster of the test's own
(the shared stack's is never reconfigured) into an encrypted repository on the stack's S3 server
software (versitygw, here an instance of the test's own over TLS: pgBackRest speaks S3 over HTTPS
only). Events land through the real pipeline (HTTP -> ingest -> Kafka -> worker -> PostgreSQL),
time T is noted, more land; a NEW cluster restored to T holds exactly the events landed by T; then
the landing group, rewound to T, refills the rest from Kafka and dedup keeps it exact.
"""

from __future__ import annotations

import json

import os
import subprocess
import sys
import time
import uuid

import pytest

from gamemetrics.envvars import settings_env
from operations.backup.local import backed_up, restore_to_new_cluster
from operations.backup.pgbackrest import PgBackRest
from operations.backup.replay import rewind_landing
from operations.backup.settings import BackupSettings
from operations.stack.postgres import LocalPostgres
from operations.stack.s3 import LocalS3
from store import db
from store.games import create_game
from store.migrate import upgrade
from tests.helpers import group_caught_up
from tests.services import free_port, running_ingest, running_worker, wait_for

pytestmark = pytest.mark.integration

BUCKET = "gamemetrics-backup"


@pytest.fixture
def tls_s3(tmp_path, stack_settings):
    """versitygw (the binary the stack runs) over TLS on a free port, data under tmp_path; its bucket made."""
    import boto3

    from operations.stack.local import LocalStack

    stack_s3 = LocalStack(stack_settings).s3
    if not stack_s3.installed():
        pytest.skip("versitygw is not installed (`gamemetrics stack install`)")
    if not PgBackRest.installed():
        pytest.skip("pgbackrest is not installed (`gamemetrics stack install` installs the Debian package)")
    s3 = LocalS3(tmp_path / "s3", port=free_port(), tls_dir=tmp_path / "s3" / "tls")
    s3.bin_dir = stack_s3.bin_dir
    s3.root.mkdir(parents=True)
    s3.start()
    try:
        s3.wait_ready()
        client = boto3.client("s3", endpoint_url=s3.endpoint_url, aws_access_key_id=s3.access_key,
                              aws_secret_access_key=s3.secret_key, region_name=s3.region, verify=str(s3.tls().ca_file))
        client.create_bucket(Bucket=BUCKET)
        yield s3
    finally:
        s3.stop()


def events(n: int, tag: str) -> list[dict]:
    now = int(time.time() * 1000)
    return [{"event_id": str(uuid.uuid4()), "event_type": "progression", "player_id": f"{tag}-{i % 7}",
             "ts": now - 1000 + i, "session_id": f"s-{tag}", "platform": "android",
             "properties": {"level": i, "status": "complete"}} for i in range(n)]


def landed_ids(settings, game_id) -> set[str]:
    with db.connect(settings) as conn:
        return {r[0] for r in conn.execute("SELECT event_id::text FROM player_events WHERE game_id = %s", (game_id,))}


def row_count(settings, game_id) -> int:
    with db.connect(settings) as conn:
        return conn.execute("SELECT count(*) FROM player_events WHERE game_id = %s", (game_id,)).fetchone()[0]


def post_all(url: str, api_key: str, batch: list[dict], size: int = 50) -> None:
    import httpx

    for i in range(0, len(batch), size):
        response = httpx.post(f"{url}/v1/events", json={"events": batch[i:i + size]},
                              headers={"Authorization": f"Bearer {api_key}"}, timeout=30)
        assert response.status_code == 200 and response.json()["accepted"] == len(batch[i:i + size]), response.text


def gamemetrics(settings, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "operations", *args], env={**os.environ, **settings_env(settings)},
                          capture_output=True, text=True, timeout=300)


def gamemetrics_verify(settings) -> subprocess.CompletedProcess:
    return gamemetrics(settings, "verify")


def test_pitr_drill_restores_exactly_what_landed_by_t_and_kafka_refills_the_rest(isolated, tmp_path, tls_s3):
    backup = BackupSettings(s3_port=tls_s3.port, s3_ca_file=tls_s3.tls().ca_file, s3_bucket=BUCKET,
                            s3_path=f"/drill-{uuid.uuid4().hex[:8]}", retention_full=1, archive_timeout_s=10)
    primary = LocalPostgres(tmp_path / "primary", port=free_port())
    tool = backed_up(primary, backup)  # before the first start: the cluster archives from the beginning
    restored: LocalPostgres | None = None
    try:
        primary.start()
        primary.wait_ready(primary.url)
        primary.ensure_database()
        settings = isolated.model_copy(update={"database_url": primary.url})
        upgrade(settings)
        tool.stanza_create()
        tool.check()
        full = tool.backup("full")
        with db.connect(settings) as conn:
            game = create_game(conn, f"drill-{uuid.uuid4().hex[:6]}")
        before, after = events(150, "a"), events(100, "b")
        with running_ingest(settings, tmp_path) as url, running_worker(settings, tmp_path):
            post_all(url, game.api_key, before)
            wait_for(lambda: row_count(settings, game.game_id) == 150, 120, "the first 150 events landed")
            wait_for(lambda: group_caught_up(settings), 60, "the worker to commit them")
            incremental = tool.backup("incr")
            with db.connect(settings) as conn:  # T: after everything acknowledged so far had landed
                t = conn.execute("SELECT clock_timestamp()").fetchone()[0]
            time.sleep(1.0)
            post_all(url, game.api_key, after)
            wait_for(lambda: row_count(settings, game.game_id) == 250, 120, "the next 100 events landed")
            wait_for(lambda: group_caught_up(settings), 60, "the worker to commit them")
        checked = gamemetrics(settings, "backup", "check", "--config", str(tool.config_file))
        assert checked.returncode == 0, checked.stderr  # a WAL switch, archived: the WAL past T is in the repository
        listed = gamemetrics(settings, "backup", "list", "--config", str(tool.config_file), "--output", "json")
        assert [json.loads(line)["type"] for line in listed.stdout.splitlines()] == ["full", "incr"], listed.stdout + listed.stderr
        assert [b.type for b in tool.info()] == ["full", "incr"]
        assert incremental.repo_size < full.repo_size and incremental.started > full.stopped

        # the restore: a NEW cluster (fresh data directory, its own port), to T
        started = time.monotonic()
        restored = restore_to_new_cluster(tool, tmp_path / "restored", free_port(), t)
        restore_s = time.monotonic() - started
        at_t = settings.model_copy(update={"database_url": restored.url})
        assert landed_ids(at_t, game.game_id) == {e["event_id"] for e in before}
        assert row_count(at_t, game.game_id) == 150
        check = gamemetrics_verify(at_t)
        assert check.returncode == 0 and "no event stored twice" in check.stdout, check.stdout + check.stderr

        # the refill: the landing group's offsets point past the lost rows; rewind to T and replay
        rewound = rewind_landing(at_t, t)
        assert sum(rewound.values()) == 0  # this test's topic: everything was produced after T - 5 min
        with running_worker(at_t, tmp_path, name="refill"):
            wait_for(lambda: row_count(at_t, game.game_id) >= 250, 120, "the refill from Kafka")
            wait_for(lambda: group_caught_up(at_t), 60, "the refill worker to commit")
        assert landed_ids(at_t, game.game_id) == {e["event_id"] for e in before + after}
        assert row_count(at_t, game.game_id) == 250  # the replayed first 150 were not stored twice
        check = gamemetrics_verify(at_t)
        assert check.returncode == 0, check.stdout + check.stderr
        print(f"\nPITR drill: restore of a new cluster to T took {restore_s:.1f}s (uptime: {os.getloadavg()})")

        # encryption at rest: every object of the repository is OpenSSL-enveloped ciphertext
        repo = tls_s3.data / BUCKET / backup.s3_path.strip("/")
        objects = [p for p in repo.rglob("*") if p.is_file()]
        assert objects and all(p.read_bytes()[:8] == b"Salted__" for p in objects), \
            [p for p in objects if p.read_bytes()[:8] != b"Salted__"][:5]

        # retention: one full kept; a new full expires the old one and the incremental built on it
        ran = gamemetrics(settings, "backup", "run", "--type", "full", "--config", str(tool.config_file))
        assert ran.returncode == 0 and " full: " in ran.stdout, ran.stdout + ran.stderr
        assert [(b.label, b.type) for b in tool.info()] == [(ran.stdout.split()[0], "full")]
    finally:
        for cluster in (restored, primary):
            if cluster is not None:
                cluster.stop(mode="immediate")  # a failed run may leave the archiver retrying
                cluster.purge()
