"""graphql_api/gdpr.py: the requestErase / requestExport admin mutations, and the audit rows of
admin mutations and player reads, on the real PostgreSQL and S3 server."""

from __future__ import annotations

import json

import pytest

from graphql_api import gdpr as gql_gdpr
from retention.gdpr.receipts import verify
from retention.settings import OtherStages
from store import db
from store.audit import AuditLog
from store.privacy import PlayerHasher
from tests.graphql_api.conftest import api_client, bearer
from tests.retention.conftest import s3, s3_server  # noqa: F401  (the real S3 server fixtures)

pytestmark = pytest.mark.integration

ERASE = """mutation($g: String!, $p: String!, $now: Boolean!) {
  requestErase(gameId: $g, playerId: $p, reason: "ticket 7", runNow: $now) {
    requestId kind status playerHash failingStore receipt } }"""


def test_erase_by_mutation_is_admin_only_audited_and_signed(isolated, s3, token, monkeypatch):
    monkeypatch.setenv("GAMEMETRICS_S3_ENDPOINT_URL", s3.endpoint_url)
    monkeypatch.setenv("GAMEMETRICS_S3_BUCKET", s3.bucket)
    monkeypatch.setenv("GAMEMETRICS_GDPR_RECEIPT_KEY", "gql-receipt-key")
    with db.connect(isolated, autocommit=True) as conn:
        conn.execute("INSERT INTO players (game_id, player_id, first_seen, last_seen) VALUES ('g1', 'pia', now(), now())")
    with api_client(isolated) as client:
        read = client.post("/graphql", json={"query": '{ player(gameId: "g1", playerId: "pia") { playerId } }'},
                           headers=bearer(token("analyst", ["g1"])))
        assert read.json()["data"]["player"]["playerId"] == "pia"
        refused = client.post("/graphql", json={"query": ERASE, "variables": {"g": "g1", "p": "pia", "now": True}},
                              headers=bearer(token("analyst", ["g1"])))
        assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        pending = client.post("/graphql", json={"query": ERASE, "variables": {"g": "g1", "p": "pia", "now": False}},
                              headers=bearer(token("admin", ["g1"]))).json()["data"]["requestErase"]
        assert pending["status"] == "pending" and pending["receipt"] is None
        done = client.post("/graphql", json={"query": ERASE, "variables": {"g": "g1", "p": "pia", "now": True}},
                           headers=bearer(token("admin", ["g1"]))).json()["data"]["requestErase"]
    assert done["status"] == "done", done
    receipt = json.loads(done["receipt"])
    verify(receipt, b"gql-receipt-key")
    assert receipt["stores"]["postgresql"]["players"] == 1
    pia = PlayerHasher.of(isolated)("g1", "pia")
    assert done["playerHash"] == pia
    with db.connect(isolated, autocommit=True) as conn:
        rows = conn.execute("SELECT actor, action, subject FROM audit_log ORDER BY seq").fetchall()
        assert AuditLog.of(isolated).verify(conn).intact
        assert conn.execute("SELECT count(*) FROM players").fetchone()[0] == 0
    assert rows[0] == ("token:pytest", "graphql.player_read", pia)
    assert ("token:pytest", "gdpr.erase.requested", pia) in rows
    assert ("gdpr-job", "gdpr.erase.done", pia) in rows
    assert not any("pia" == r[2] for r in rows)


def test_with_run_now_off_the_api_hands_erases_to_gdpr_run_and_exposes_the_backlog(isolated, s3, token):
    """The chart's setting (issue 21, item 6): the API pod holds no S3 credentials or receipt key, so runNow
    leaves the request pending for the `gdpr run` CronJob, and its /metrics shows the backlog for the alert."""
    from retention.run import run_open_requests
    from retention.settings import GdprSettings, RetentionSettings
    from tests.graphql_api.conftest import GQL

    gql = GQL.model_copy(update={"gdpr_run_now": False, "gdpr_metrics_refresh_s": 0.2})
    with api_client(isolated, gql) as client:
        asked = client.post("/graphql", json={"query": ERASE, "variables": {"g": "g1", "p": "ola", "now": True}},
                            headers=bearer(token("admin", ["g1"]))).json()["data"]["requestErase"]
        assert asked["status"] == "pending" and asked["receipt"] is None

        def backlog() -> tuple[float, float]:
            text = client.get("/metrics").text
            pending = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                       if line.startswith('gamemetrics_gdpr_requests{') and 'kind="erase"' in line and 'status="pending"' in line]
            age = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("gamemetrics_gdpr_oldest_pending_request_age_seconds")]
            return (max(pending) if pending else 0.0), (max(age) if age else 0.0)

        from tests.services import wait_for

        wait_for(lambda: backlog()[0] >= 1 and backlog()[1] > 0, 10, "the backlog on /metrics")
        outcome = run_open_requests(isolated, s3, RetentionSettings(), GdprSettings(receipt_key="job-receipt-key"),
                                    OtherStages.load())
        assert outcome is not None and [r for r in outcome.done] == [asked["requestId"]]
        wait_for(lambda: backlog() == (0.0, 0.0), 10, "the backlog to empty on /metrics")
