"""graphql_api/gdpr.py: the requestErase / requestExport admin mutations, and the audit rows of
admin mutations and player reads, on the real PostgreSQL and S3 server."""

from __future__ import annotations

import json

import pytest

from graphql_api import gdpr as gql_gdpr
from retention.gdpr.receipts import verify
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
    gql_gdpr._job_settings.cache_clear()
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
    gql_gdpr._job_settings.cache_clear()
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
