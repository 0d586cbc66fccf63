"""The Faust app of the workers (``streams/app.py``): group membership for fast recovery, security."""

from __future__ import annotations

import faust
from pydantic import SecretStr

from gamemetrics.settings import Settings
from operations.stack.tls import ensure_broker_tls
from streams.app import ConsumerPolicy, GroupMembership, create_app, faust_credentials


def test_a_dead_worker_is_noticed_within_seconds_not_a_minute(tmp_path):
    # Faust's defaults (60 s session and rebalance timeouts) stalled a kill -9'd worker's partitions ~59 s
    conf = create_app(Settings(state_dir=tmp_path)).conf
    assert conf.broker_session_timeout <= 10
    assert conf.broker_heartbeat_interval * 3 <= conf.broker_session_timeout
    assert conf.broker_rebalance_timeout <= 20
    assert conf.consumer_group_instance_id is None  # dynamic membership unless a stable id is given
    static = create_app(Settings(state_dir=tmp_path), membership=GroupMembership(instance_id="worker-0")).conf
    assert static.consumer_group_instance_id == "worker-0"


def test_the_worker_settings_size_its_polls_and_fetches(tmp_path, monkeypatch):
    from processors.settings import WorkerSettings
    from processors.worker import build_worker_app

    monkeypatch.setenv("GAMEMETRICS_WORKER_MAX_POLL_RECORDS", "2000")
    monkeypatch.setenv("GAMEMETRICS_WORKER_FETCH_MAX_BYTES", str(4 * 1024**2))
    conf = build_worker_app(Settings(state_dir=tmp_path), WorkerSettings(), None).conf
    assert (conf.broker_max_poll_records, conf.consumer_max_fetch_size) == (2000, 4 * 1024**2)
    default = create_app(Settings(state_dir=tmp_path), ConsumerPolicy()).conf
    assert (default.broker_max_poll_records, default.consumer_max_fetch_size) == (500, 1024**2)


def test_faust_takes_sasl_ssl_scram_credentials_and_the_ca_from_the_settings(tmp_path):
    tls = ensure_broker_tls(tmp_path / "tls")
    settings = Settings(state_dir=tmp_path, kafka_security_protocol="SASL_SSL", kafka_sasl_username="worker",
                        kafka_sasl_password=SecretStr("pw"), kafka_ssl_ca_file=tls.ca_file)
    credentials = faust_credentials(settings)["broker_credentials"]
    assert isinstance(credentials, faust.SASLCredentials)
    assert (credentials.username, credentials.password, credentials.mechanism.value) == ("worker", "pw", "SCRAM-SHA-512")
    assert credentials.ssl_context is not None and credentials.protocol.value == "SASL_SSL"
    assert settings.kafka_security() == {
        "security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "worker",
        "sasl.password": "pw", "ssl.ca.location": str(tls.ca_file),
    }
    assert faust_credentials(Settings(state_dir=tmp_path)) == {} and Settings().kafka_security() == {}
