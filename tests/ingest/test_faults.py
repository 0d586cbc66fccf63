"""Ingest when a service fails: each test runs its own Redis or Kafka so it can stop it."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
from confluent_kafka import Consumer

from operations.stack.kafka import LocalKafka
from operations.stack.local import LocalStack
from operations.stack.redis import LocalRedis
from schemas.catalog import load_catalog
from schemas.ids import CatalogIds
from schemas.wire import AvroDeserializer
from streams.topics import RAW_EVENTS, ensure_topics
from tests.helpers import an_event, new_key, post
from tests.services import free_port, running_ingest, wait_for

pytestmark = pytest.mark.integration


def test_redis_down_ingest_keeps_accepting_and_limits_per_process(isolated, tmp_path):
    redis_server = LocalRedis(tmp_path / "redis", port=free_port())
    redis_server.start()
    redis_server.wait_ready(redis_server.url)
    settings = isolated.model_copy(update={"redis_url": redis_server.url})
    _, key = new_key(settings)
    knobs = {"GAMEMETRICS_INGEST_RATE_LIMIT_EVENTS_PER_S": "10", "GAMEMETRICS_INGEST_RATE_LIMIT_BURST": "100"}
    try:
        with running_ingest(settings, tmp_path, knobs) as url:
            assert post(url, key, {"events": [an_event() for _ in range(10)]}).status_code == 200
            redis_server.stop()
            response = post(url, key, {"events": [an_event() for _ in range(100)]})
            assert response.status_code == 200, response.text
            assert response.json()["accepted"] == 100
            # the per-process bucket (full at the switch) is spent now: the limit still holds
            limited = post(url, key, {"events": [an_event() for _ in range(100)]})
            assert limited.status_code == 429 and limited.headers["Retry-After"]
    finally:
        redis_server.stop()


def raw_event_ids(bootstrap: str, topic: str) -> list[str]:
    """Every event id in ``topic``: read until 5 s pass without a message, counted from the group's
    assignment (joining a group on a just-restarted broker can take longer than that on a busy box)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"check-{uuid.uuid4()}", "auto.offset.reset": "earliest"})
    assigned_at: list[float] = []
    consumer.subscribe([topic], on_assign=lambda _consumer, _partitions: assigned_at.append(time.monotonic()))
    decoder = AvroDeserializer(CatalogIds(), load_catalog().latest(RAW_EVENTS.value_schema))
    ids: list[str] = []
    give_up = time.monotonic() + 60
    idle_since = time.monotonic()
    while time.monotonic() < give_up and (not assigned_at or time.monotonic() - max(idle_since, assigned_at[0]) < 5):
        message = consumer.poll(0.5)
        if message is None or message.error():
            continue
        idle_since = time.monotonic()
        ids += [str(e["event_id"]) for e in decoder.decode(message.value())["events"]]
    consumer.close()
    return ids


def test_kafka_down_answers_503_and_nothing_is_lost_when_the_client_retries(isolated, tmp_path):
    shared = LocalStack(isolated).kafka
    if not shared.installed():
        pytest.skip("needs the local Kafka jars (`gamemetrics stack install`)")
    broker = LocalKafka(tmp_path / "kafka", port=free_port(), controller_port=free_port())
    broker.use_libs_of(shared)
    broker.start()
    broker.wait_ready(broker.bootstrap_servers)
    ensure_topics(broker.bootstrap_servers, isolated.topic_prefix)
    settings = isolated.model_copy(update={"kafka_bootstrap_servers": broker.bootstrap_servers})
    _, key = new_key(settings)
    knobs = {"GAMEMETRICS_INGEST_KAFKA_DELIVERY_TIMEOUT_MS": "3000", "GAMEMETRICS_INGEST_RETRY_AFTER_S": "1"}
    try:
        with running_ingest(settings, tmp_path, knobs) as url:
            before = [an_event(player_id=f"p{i}") for i in range(20)]
            assert post(url, key, {"events": before}).json()["accepted"] == 20

            broker.stop(kill=True)
            during = [an_event(player_id=f"p{i}") for i in range(20)]
            refused = post(url, key, {"events": during})
            assert refused.status_code == 503
            assert refused.headers["Retry-After"] == "1"
            assert "Kafka" in refused.json()["error"]
            assert httpx.get(f"{url}/readyz", timeout=10).status_code == 503

            broker.start()
            broker.wait_ready(broker.bootstrap_servers)
            # the client retries the very same request until it is accepted
            deadline = time.monotonic() + 90
            while True:
                response = post(url, key, {"events": during})
                if response.status_code == 200:
                    break
                assert response.status_code == 503 and time.monotonic() < deadline, response.text
                time.sleep(float(response.headers["Retry-After"]))
            assert response.json()["accepted"] == 20
        stored = raw_event_ids(broker.bootstrap_servers, settings.topic(RAW_EVENTS.name))
        assert {e["event_id"] for e in before + during} <= set(stored)
    finally:
        broker.stop(kill=True)


def test_postgres_down_answers_503_for_an_uncached_key_and_keeps_accepting_a_cached_one(isolated, tmp_path):
    from operations.stack.postgres import LocalPostgres
    from store.migrate import upgrade

    pg = LocalPostgres(tmp_path / "pg", port=free_port())
    pg.start()
    try:
        pg.wait_ready(pg.url)
        pg.ensure_database()
        settings = isolated.model_copy(update={"database_url": pg.url})
        upgrade(settings)
        _, cached_key = new_key(settings)
        _, uncached_key = new_key(settings)
        knobs = {"GAMEMETRICS_INGEST_KEY_CACHE_TTL_S": "1", "GAMEMETRICS_INGEST_RETRY_AFTER_S": "3"}
        with running_ingest(settings, tmp_path, knobs) as url:
            assert post(url, cached_key, {"events": [an_event()]}).status_code == 200
            pg.stop()
            time.sleep(1.5)  # let the cached entry go stale: the key must now be checked, and cannot be
            refused = post(url, uncached_key, {"events": [an_event()]})
            assert refused.status_code == 503, refused.text
            assert refused.headers["Retry-After"] == "3"
            assert "key store is unavailable" in refused.json()["error"]
            kept = post(url, cached_key, {"events": [an_event(), an_event()]})
            assert kept.status_code == 200, kept.text
            assert kept.json()["accepted"] == 2
            pg.start()
            pg.wait_ready(pg.url)
            again = wait_for(lambda: (r := post(url, uncached_key, {"events": [an_event()]})).status_code == 200 and r,
                             30, "the uncached key to be accepted once PostgreSQL is back")
            assert again.json()["accepted"] == 1
    finally:
        pg.stop()
