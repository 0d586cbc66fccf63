"""The README's user flow through the `gamemetrics` command, on the real stack and S3 server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta

import pytest

from gamemetrics.envvars import settings_env
from store import db
from tests.retention.seed import partitions_around, seed_day

pytestmark = pytest.mark.integration

TODAY = date(2026, 12, 1)


def gm(env: dict, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "operations", *args], env=env, input=stdin, capture_output=True,
                          text=True, timeout=300)


def test_retention_run_archive_erase_receipt_and_audit_from_the_command_line(isolated, s3, tmp_path):
    env = {**os.environ, **settings_env(isolated), "GAMEMETRICS_S3_ENDPOINT_URL": s3.endpoint_url,
           "GAMEMETRICS_S3_BUCKET": s3.bucket, "GAMEMETRICS_GDPR_RECEIPT_KEY": "cli-flow-key",
           "GAMEMETRICS_RETENTION_ROW_GROUP_ROWS": "500"}
    old = TODAY - timedelta(days=120)
    with db.connect(isolated, autocommit=True) as conn:
        partitions_around(conn, old, 0, 0)
        seed_day(conn, "g1", old, ["ana", "bo"], 30)
    metrics = tmp_path / "retention.prom"
    run = gm(env, "retention", "run", "--quiet", "--today", TODAY.isoformat(), "--metrics-file", str(metrics))
    assert run.returncode == 0, run.stderr
    assert "archived: 60 rows in 1 Parquet objects" in run.stdout
    assert "gamemetrics_retention_rows_archived 60.0" in metrics.read_text()
    listed = [json.loads(x) for x in gm(env, "archive", "list", "--game", "g1").stdout.splitlines()]
    assert [(p["day"], p["rows"], p["state"]) for p in listed] == [(str(old), 60, "dropped")]
    query = gm(env, "archive", "query", "SELECT player_id, count(*) AS n FROM events GROUP BY 1 ORDER BY 1")
    assert query.stdout.splitlines() == ["player_id,n", "ana,30", "bo,30"], query.stderr

    erase = gm(env, "gdpr", "erase", "--game", "g1", "--player", "ana", "--requester", "dpo@studio", "--suppress")
    assert erase.returncode == 0, erase.stderr
    receipt = json.loads(erase.stdout)["receipt"]
    assert receipt["stores"]["archives"]["archived_rows"] == 30 and receipt["suppressed"] is True
    assert gm(env, "gdpr", "receipt", "verify", "-", stdin=erase.stdout).stdout.startswith("valid: erase")
    receipt["stores"]["archives"]["archived_rows"] = 0
    assert gm(env, "gdpr", "receipt", "verify", "-", stdin=json.dumps(receipt)).returncode == 1
    shown = gm(env, "gdpr", "receipt", "show", receipt["request_id"])
    assert json.loads(shown.stdout)["signature"] == json.loads(erase.stdout)["receipt"]["signature"]
    assert gm(env, "gdpr", "run").stdout.startswith("GDPR requests: 0 done, 0 failed")
    listed = [json.loads(x) for x in gm(env, "gdpr", "list").stdout.splitlines()]
    assert [(r["kind"], r["status"]) for r in listed] == [("erase", "done")] and "ana" not in json.dumps(listed)
    query = gm(env, "archive", "query", "SELECT player_id, count(*) AS n FROM events GROUP BY 1 ORDER BY 1")
    assert query.stdout.splitlines() == ["player_id,n", "bo,30"]
    assert gm(env, "audit", "verify").stdout.startswith("audit log intact: ")
    actions = [json.loads(x)["action"] for x in gm(env, "audit", "list").stdout.splitlines()]
    assert actions[:2] == ["gdpr.erase.done", "gdpr.erase.requested"]
    assert json.loads(gm(env, "gdpr", "unsuppress", "--game", "g1", "--player", "ana").stdout)["unsuppressed"]
