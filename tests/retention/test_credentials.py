"""No credential in any answer, log line or table row while a service is down (issue 21, item 1).

Each service is reached by a real client at a closed port, with a password in its URL (or its secret
setting): PostgreSQL (store errors, ingest's 503 to an unknown key), Kafka (ingest's 503, SASL
password), S3 (the erase's export step), Redis and Qdrant (the erase's Redis and recommender steps:
gdpr_requests.error, audit_log and the `gdpr run` output)."""

from __future__ import annotations

import subprocess
import sys
import os
import uuid

import pytest

from retention.gdpr import requests
from retention.gdpr.job import GdprJob
from retention.objects import ObjectStore
from retention.settings import OtherStages, S3Settings
from store import db
from store.audit import AuditLog
from store.errors import StoreUnavailable
from store.privacy import PlayerHasher
from tests.helpers import an_event, new_key, post
from gamemetrics.envvars import settings_env
from tests.services import free_port, running_ingest

pytestmark = pytest.mark.integration

PASSWORD = f"pw-{uuid.uuid4().hex}"


def closed_url(scheme: str, user: str = "gamemetrics", path: str = "/gamemetrics") -> str:
    return f"{scheme}://{user}:{PASSWORD}@127.0.0.1:{free_port()}{path}"


def rows_holding(conn, needle: str) -> dict[str, int]:
    found = {}
    for table in ("gdpr_requests", "audit_log"):
        n = conn.execute(f"SELECT count(*) FROM {table} t WHERE strpos(t::text, %s) > 0", (needle,)).fetchone()[0]
        if n:
            found[table] = n
    return found


def test_postgres_down_the_store_error_names_the_url_without_its_password(isolated):
    url = closed_url("postgresql")
    with pytest.raises(StoreUnavailable) as caught:
        db.connect(isolated.model_copy(update={"database_url": url}))
    assert PASSWORD not in str(caught.value)
    assert f"postgresql://gamemetrics@127.0.0.1:{url.rsplit(':', 1)[1].split('/')[0]}/gamemetrics" in str(caught.value)


def test_postgres_down_ingest_answers_503_without_the_password_and_logs_none(isolated, tmp_path):
    settings = isolated.model_copy(update={"database_url": closed_url("postgresql")})
    with running_ingest(settings, tmp_path) as url:
        refused = post(url, "an-unknown-key", {"events": [an_event()]})
        assert refused.status_code == 503, refused.text
        assert PASSWORD not in refused.text
    log = (tmp_path / "ingest.log").read_text()
    assert "api_key_store_unavailable" in log and PASSWORD not in log


def test_kafka_down_ingest_answers_503_without_the_sasl_password_and_logs_none(isolated, tmp_path):
    _, key = new_key(isolated)
    settings = isolated.model_copy(update={
        "kafka_bootstrap_servers": f"127.0.0.1:{free_port()}", "kafka_security_protocol": "SASL_PLAINTEXT",
        "kafka_sasl_username": "ingest", "kafka_sasl_password": PASSWORD})
    knobs = {"GAMEMETRICS_INGEST_KAFKA_DELIVERY_TIMEOUT_MS": "2000"}
    with running_ingest(settings, tmp_path, knobs) as url:
        refused = post(url, key, {"events": [an_event()]})
        assert refused.status_code == 503, refused.text
        assert PASSWORD not in refused.text
    assert PASSWORD not in (tmp_path / "ingest.log").read_text()


def _erase_request(settings) -> str:
    with db.connect(settings, autocommit=True) as conn:
        game_id, _ = new_key(settings)
        request = requests.create(conn, PlayerHasher.of(settings), AuditLog.of(settings), "erase", game_id,
                                  f"p-{uuid.uuid4().hex[:6]}", "test")
    return str(request.request_id)


def test_s3_down_the_failed_erase_keeps_no_secret_in_its_row_or_the_audit_log(isolated, retention_settings,
                                                                               gdpr_settings):
    rid = _erase_request(isolated)
    s3 = S3Settings(endpoint_url=f"http://127.0.0.1:{free_port()}", secret_access_key=PASSWORD, bucket="b")
    with db.connect(isolated, autocommit=True) as conn:
        outcome = GdprJob(conn, isolated, retention_settings, gdpr_settings, ObjectStore(s3), OtherStages.load()).run_open(only=rid)
        assert [(r, store) for r, store, _ in outcome.failed] == [(rid, "exports")]
        assert PASSWORD not in repr(outcome.failed)
        assert rows_holding(conn, PASSWORD) == {}
        assert requests.get(conn, rid).error


@pytest.mark.parametrize("down", ["redis", "qdrant"])
def test_redis_or_qdrant_down_gdpr_run_prints_logs_and_stores_no_password(isolated, s3, tmp_path, down):
    rid = _erase_request(isolated)
    broken = {"redis": {"redis_url": closed_url("redis", "default", "/0")},
              "qdrant": {"qdrant_url": closed_url("http", "admin", "")}}[down]
    settings = isolated.model_copy(update=broken)
    env = {**os.environ, **settings_env(settings), "GAMEMETRICS_LOG_FORMAT": "json",
           "GAMEMETRICS_S3_ENDPOINT_URL": s3.endpoint_url, "GAMEMETRICS_S3_BUCKET": s3.bucket,
           "GAMEMETRICS_GDPR_RECEIPT_KEY": "test-receipt-key"}
    env.update({f"GAMEMETRICS_{k.upper()}": v for k, v in broken.items()})
    run = subprocess.run([sys.executable, "-m", "operations", "gdpr", "run"], env=env, capture_output=True,
                         text=True, timeout=120)
    output = run.stdout + run.stderr
    assert run.returncode == 1, output  # a failure (gamemetrics.commands conventions), not a usage error
    assert f"failed {rid} at {'redis' if down == 'redis' else 'recommender'}" in output
    assert PASSWORD not in output
    with db.connect(isolated, autocommit=True) as conn:
        assert rows_holding(conn, PASSWORD) == {}
        assert requests.get(conn, rid).status == "failed"


def test_a_production_erase_refuses_the_public_receipt_key_and_s3_secret(isolated, retention_settings):
    from gamemetrics.keys import InsecureKey
    from retention.settings import GdprSettings

    production = isolated.model_copy(update={"env": "production"})
    with db.connect(isolated, autocommit=True) as conn:
        with pytest.raises(InsecureKey, match="GAMEMETRICS_GDPR_RECEIPT_KEY.*GAMEMETRICS_S3_SECRET_ACCESS_KEY"):
            GdprJob(conn, production, retention_settings, GdprSettings(), ObjectStore(S3Settings()), OtherStages.load())
        strong = GdprSettings(receipt_key="r" * 40)
        GdprJob(conn, production, retention_settings, strong, ObjectStore(S3Settings(secret_access_key="s" * 40)), OtherStages.load())
