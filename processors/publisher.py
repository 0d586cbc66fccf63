"""Step 7's edge on Kafka: ProcessedEventBatch records to player.events.processed and DeadLetter
records to system.dlq, through the project's one producer (acks=all, idempotent;
:class:`streams.producer.EventProducer`). Raises ``ProduceError`` when Kafka does not acknowledge."""

from __future__ import annotations

from typing import Any

from gamemetrics.settings import Settings
from schemas.catalog import load_catalog
from schemas.ids import schema_ids
from schemas.wire import INSTALLED, AvroSerializer, PlainCodec
from streams.producer import EventProducer
from streams.topics import DLQ, GAME_ID_HEADER, PROCESSED_EVENTS


class KafkaPublisher:
    def __init__(self, settings: Settings, producer: EventProducer, codec: PlainCodec = INSTALLED) -> None:
        ids = schema_ids(settings.schema_registry_url)
        catalog = load_catalog()
        self._producer = producer
        self.processed_topic = settings.topic(PROCESSED_EVENTS.name)
        self.dlq_topic = settings.topic(DLQ.name)
        self._processed = AvroSerializer(ids, self.processed_topic, catalog.latest(PROCESSED_EVENTS.value_schema),
                                         logical=False, codec=codec)
        self._dlq = AvroSerializer(ids, self.dlq_topic, catalog.latest(DLQ.value_schema))

    async def processed(self, batches: list[dict[str, Any]]) -> None:
        if not batches:
            return
        messages = [(b["player_id"].encode(), self._processed.encode(b)) for b in batches]
        headers = [[(GAME_ID_HEADER, b["game_id"].encode())] for b in batches]
        await self._producer.send_all(self.processed_topic, messages, headers)

    async def dead_letters(self, records: list[tuple[bytes | None, dict[str, Any]]]) -> None:
        if not records:
            return
        await self._producer.send_all(self.dlq_topic, [(key, self._dlq.encode(r)) for key, r in records])  # type: ignore[misc]
