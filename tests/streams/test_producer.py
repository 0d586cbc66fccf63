"""streams/producer.py against the real broker: acknowledged sends, and a client that hit a fatal
error is replaced so that ingest keeps answering.

librdkafka's fatal idempotence errors cannot be provoked on demand against a real broker, so the
second test hands the client's own error callback a fatal ``KafkaError`` (the named seam: exactly
what librdkafka would call it with) and checks what follows on the real broker.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaError

from streams.producer import EventProducer
from streams.topics import ensure_topics

pytestmark = pytest.mark.integration


def _count(settings, topic: str, expected: int, timeout_s: float = 30.0) -> int:
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap_servers, "group.id": f"t-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    seen = 0
    deadline = time.monotonic() + timeout_s
    try:
        while seen < expected and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                seen += 1
    finally:
        consumer.close()
    return seen


def test_sends_are_acknowledged_then_readable(isolated):
    ensure_topics(isolated.kafka_bootstrap_servers, isolated.topic_prefix)
    topic = isolated.topic("player.events.raw")
    producer = EventProducer(isolated.kafka_bootstrap_servers)
    try:
        asyncio.run(producer.send_all(topic, [(f"p{i}".encode(), b"v") for i in range(10)]))
    finally:
        producer.close()
    assert _count(isolated, topic, 10) == 10


def test_a_fatal_error_replaces_the_client_and_sends_go_on(isolated):
    ensure_topics(isolated.kafka_bootstrap_servers, isolated.topic_prefix)
    topic = isolated.topic("player.events.raw")
    producer = EventProducer(isolated.kafka_bootstrap_servers)
    try:
        asyncio.run(producer.send_all(topic, [(b"p1", b"before")]))
        first = producer._producer
        producer._on_error(KafkaError(KafkaError._FATAL, "injected: idempotent producer fenced", fatal=True))
        deadline = time.monotonic() + 5
        while producer.replacements == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert producer.replacements == 1
        assert producer._producer is not first
        asyncio.run(producer.send_all(topic, [(b"p1", b"after"), (b"p2", b"after")]))
    finally:
        producer.close()
    assert _count(isolated, topic, 3) == 3
