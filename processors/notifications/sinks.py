"""Kafka sinks of the notification agents: Notification records and DeadLetters, acknowledged.

Both wait out a Kafka outage (``UNTIL_BACK``) instead of dropping: the agent that called them has
not acked its input yet, so a crash meanwhile replays it, and replays are idempotent downstream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import faust
import structlog

from processors.notifications.model import Notification
from processors.notifications.retry import UNTIL_BACK, RetryPolicy
from schemas.catalog import load_catalog
from schemas.ids import SchemaIds
from schemas.wire import AvroSerializer
from streams.errors import ProduceError
from streams.producer import EventProducer
from streams.topics import DLQ

log = structlog.get_logger("processors.notifications.sinks")


async def send_acknowledged(
    producer: EventProducer, topic: str, messages: list[tuple[bytes, bytes]], policy: RetryPolicy = UNTIL_BACK
) -> None:
    """``producer.send_all``, repeated while Kafka does not acknowledge."""
    for attempt in range(1, policy.max_attempts + 1):
        try:
            await producer.send_all(topic, messages)
            return
        except ProduceError as exc:
            if attempt == policy.max_attempts:
                raise
            delay = policy.delay_after(attempt)
            log.warning("kafka_unavailable", topic=topic, messages=len(messages), attempt=attempt,
                        retry_in_s=delay, error=str(exc))
            await asyncio.sleep(delay)


class KafkaNotifications:
    """Writes Notification records to the notifications topic, keyed by player id."""

    def __init__(self, producer: EventProducer, topic: str, codec: faust.Codec) -> None:
        self._producer = producer
        self._topic = topic
        self._codec = codec

    def encode(self, notification: Notification) -> bytes:
        return self._codec.dumps(notification.to_record())

    async def send(self, notifications: Sequence[Notification]) -> None:
        messages = [(n.player_id.encode(), self.encode(n)) for n in notifications]
        if messages:
            await send_acknowledged(self._producer, self._topic, messages)


class KafkaDeadLetters:
    """Writes DeadLetter records to system.dlq (implements ``delivery.DeadLetterSink``)."""

    def __init__(self, producer: EventProducer, topic: str, ids: SchemaIds) -> None:
        self._producer = producer
        self._topic = topic
        self._serializer = AvroSerializer(ids, topic, load_catalog().latest(DLQ.value_schema))

    async def send(self, key: bytes | None, record: dict[str, Any]) -> None:
        await send_acknowledged(self._producer, self._topic, [(key or b"", self._serializer.encode(record))])
