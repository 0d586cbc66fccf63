"""Inspecting and replaying ``system.dlq`` (``gamemetrics dlq inspect|replay``): what failed, why,
and re-submitting it once fixed. The records themselves are built by ``processors.dead_letters``."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer

from gamemetrics.settings import Settings
from schemas.catalog import load_catalog
from schemas.errors import WireFormatError
from schemas.ids import schema_ids
from schemas.wire import AvroDeserializer
from streams.producer import EventProducer
from streams.topics import DLQ

IDLE_END_S = 3.0
POLL_S = 0.5


@dataclass(frozen=True)
class DeadLetterRecord:
    offset: int
    record: dict[str, Any]


def read_dead_letters(settings: Settings, idle_end_s: float = IDLE_END_S) -> Iterator[DeadLetterRecord]:
    """Every record of system.dlq from the start; stops after ``idle_end_s`` without a new one.

    Reads with a throw-away consumer group and commits nothing.
    """
    decoder = AvroDeserializer(schema_ids(settings.schema_registry_url), load_catalog().latest(DLQ.value_schema))
    consumer = Consumer({
        "bootstrap.servers": settings.kafka_bootstrap_servers, "group.id": f"gamemetrics-dlq-reader-{uuid.uuid4()}",
        "auto.offset.reset": "earliest", "enable.auto.commit": False,
    })
    consumer.subscribe([settings.topic(DLQ.name)])
    try:
        last = time.monotonic()
        while time.monotonic() - last < idle_end_s:
            message = consumer.poll(POLL_S)
            if message is None or message.error():
                continue
            last = time.monotonic()
            try:
                yield DeadLetterRecord(message.offset(), decoder.decode(message.value()))
            except WireFormatError:
                continue  # a foreign message on the DLQ topic is not ours to show
    finally:
        consumer.close()


def summary(records: list[DeadLetterRecord]) -> Counter[str]:
    return Counter(r.record["error_type"] for r in records)


def replay(settings: Settings, records: list[DeadLetterRecord]) -> int:
    """Re-produce each record's original bytes to its source topic and key; returns the count.

    Through the project's producer (acks=all, idempotent; ``streams.producer``), once per source
    message (several dead letters of one message replay it once). Landing is idempotent on event
    id, so replaying a whole batch again only adds its missing events. ProduceError if Kafka refuses.
    """
    sources = {(r.record["source_topic"], r.record["source_partition"], r.record["source_offset"]): r for r in records}
    by_topic: dict[str, list[tuple[bytes | None, bytes]]] = {}
    for record in sources.values():
        by_topic.setdefault(record.record["source_topic"], []).append((record.record["source_key"], record.record["original"]))

    async def send() -> None:
        producer = EventProducer(settings.kafka_bootstrap_servers)
        try:
            for topic, messages in by_topic.items():
                await producer.send_all(topic, messages)  # type: ignore[arg-type]
        finally:
            producer.close()

    asyncio.run(send())
    return len(sources)
