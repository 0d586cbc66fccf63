"""Kafka sinks of the notification agents: Notification records and DeadLetters, acknowledged.

Both wait out a Kafka outage (``UNTIL_BACK``) instead of dropping: the agent that called them has
not acked its input yet, so a crash meanwhile replays it, and replays are idempotent downstream.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import faust

from processors.notifications.model import Notification
from schemas.catalog import load_catalog
from schemas.ids import SchemaIds
from schemas.wire import AvroSerializer
from streams.producer import EventProducer, send_acknowledged
from streams.topics import DLQ

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
