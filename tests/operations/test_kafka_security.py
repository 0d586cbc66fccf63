"""The secured local Kafka (``LocalKafka(secure=True)``): SASL_SSL + SCRAM-SHA-512 + ACLs, on a broker
of this module's own (free ports, a tmp directory), never the shared one."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from confluent_kafka import Consumer, KafkaError, Producer
from pydantic import SecretStr

from operations.stack.kafka import LocalKafka
from operations.stack.local import LocalStack
from store import db
from store.games import create_game
from streams.acls import GRAPHQL_LIVE_GROUP
from streams.topics import DLQ, PROCESSED_EVENTS, RAW_EVENTS, ensure_topics
from tests.services import free_port, running_ingest, running_worker, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def secured(stack_settings, tmp_path_factory) -> Iterator[LocalKafka]:
    shared = LocalStack(stack_settings).kafka
    if not shared.installed():
        pytest.skip("needs the local Kafka jars (`gamemetrics stack install`)")
    broker = LocalKafka(tmp_path_factory.mktemp("secure-kafka"), port=free_port(), controller_port=free_port(), secure=True)
    broker.use_libs_of(shared)
    broker.start()
    try:
        broker.wait_ready(broker.bootstrap_servers)
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def deployment(secured, isolated):
    """This test's prefix on the secured broker: topics created by the admin, the service ACLs applied."""
    ensure_topics(secured.bootstrap_servers, isolated.topic_prefix, security=secured.admin_security())
    secured.apply_acls(isolated.topic_prefix)
    return isolated


def _produce(settings, topic: str) -> KafkaError | None:
    errors: list[KafkaError] = []
    producer = Producer(settings.kafka_config(**{"acks": "all", "message.timeout.ms": 8000,
                                                  "error_cb": errors.append}))
    delivered: list[KafkaError | None] = []
    producer.produce(topic, b"x", on_delivery=lambda err, _m: delivered.append(err))
    producer.flush(15)
    authentication = [e for e in errors if e.code() in (KafkaError._AUTHENTICATION, KafkaError.SASL_AUTHENTICATION_FAILED)]
    if authentication:  # the client's own report of why nothing was delivered
        return authentication[0]
    return delivered[0] if delivered else (errors[0] if errors else KafkaError(KafkaError._TIMED_OUT))


def _consume_error(settings, topic: str) -> KafkaError | None:
    consumer = Consumer(settings.kafka_config(**{"group.id": f"{settings.topic_prefix}{GRAPHQL_LIVE_GROUP}-{uuid.uuid4().hex}",
                                                  "auto.offset.reset": "earliest"}))
    consumer.subscribe([topic])
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() and message.error().code() != KafkaError._PARTITION_EOF:
                return message.error()
            if message is not None and not message.error():
                return None
        return None
    finally:
        consumer.close()


def test_a_client_without_credentials_or_with_a_wrong_password_is_refused(secured, deployment):
    raw = deployment.topic(RAW_EVENTS.name)
    plaintext = deployment.model_copy(update={"kafka_bootstrap_servers": secured.bootstrap_servers})
    assert _produce(plaintext, raw) is not None  # PLAINTEXT against SASL_SSL: no answer
    anonymous = secured.client_settings(deployment, "ingest").model_copy(update={"kafka_security_protocol": "SSL"})  # TLS, no SASL
    assert _produce(anonymous, raw) is not None
    wrong = secured.client_settings(deployment, "ingest").model_copy(update={"kafka_sasl_password": SecretStr("not-it")})
    error = _produce(wrong, raw)
    assert error is not None and error.code() in (KafkaError._AUTHENTICATION, KafkaError.SASL_AUTHENTICATION_FAILED)


def test_each_principal_may_do_exactly_what_its_service_does(secured, deployment):
    raw, processed = deployment.topic(RAW_EVENTS.name), deployment.topic(PROCESSED_EVENTS.name)
    ingest, graphql = secured.client_settings(deployment, "ingest"), secured.client_settings(deployment, "graphql")
    assert _produce(ingest, raw) is None  # ingest writes raw
    denied = _produce(ingest, processed)  # ... and nothing else
    assert denied is not None and denied.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    denied = _produce(graphql, deployment.topic(DLQ.name))  # graphql only reads
    assert denied is not None and denied.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    refused = _consume_error(ingest, raw)  # ingest may not read what it writes
    assert refused is not None and refused.code() in (KafkaError.TOPIC_AUTHORIZATION_FAILED,
                                                      KafkaError.GROUP_AUTHORIZATION_FAILED)
    assert _consume_error(graphql, processed) is None  # graphql reads processed in its own groups


def test_the_pipeline_runs_end_to_end_on_the_secured_broker(secured, deployment, tmp_path):
    with db.connect(deployment) as conn:
        game = create_game(conn, f"Secured {uuid.uuid4().hex[:6]}")
    now = int(time.time() * 1000)
    events = [{"event_id": str(uuid.uuid4()), "event_type": "session_start", "player_id": f"p{i % 7}", "ts": now - i}
              for i in range(60)]
    ingest, worker = secured.client_settings(deployment, "ingest"), secured.client_settings(deployment, "worker")
    with running_ingest(ingest, tmp_path) as url, running_worker(worker, tmp_path):
        response = httpx.post(f"{url}/v1/events", json={"events": events},
                              headers={"Authorization": f"Bearer {game.api_key}"}, timeout=30)
        assert response.status_code == 200 and response.json()["accepted"] == 60, response.text

        def landed() -> bool:
            with db.connect(deployment) as conn:
                return conn.execute("SELECT count(*) FROM player_events WHERE game_id = %s",
                                    (game.game_id,)).fetchone()[0] == 60

        wait_for(landed, timeout_s=120, what="60 events landed through the secured broker")
    log = (tmp_path / "worker.log").read_text()
    assert "TOPIC_AUTHORIZATION_FAILED" not in log and "TopicAuthorizationFailed" not in log
