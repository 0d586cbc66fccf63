"""Publish ``Recommendations`` records (schemas/recommendations.v1.avsc) to recommendations.generated,
keyed by player id, waiting for Kafka's acknowledgements (acks=all, idempotent producer)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gamemetrics.settings import Settings
from schemas.catalog import load_catalog
from schemas.ids import schema_ids
from schemas.wire import AvroSerializer
from streams.producer import EventProducer, send_acknowledged
from streams.topics import RECOMMENDATIONS


class RecommendationsSink:
    def __init__(self, settings: Settings, producer: EventProducer) -> None:
        self.topic = settings.topic(RECOMMENDATIONS.name)
        self._producer = producer
        self._serializer = AvroSerializer(schema_ids(settings.schema_registry_url), self.topic,
                                          load_catalog().latest(RECOMMENDATIONS.value_schema))

    async def send(self, records: Sequence[dict[str, Any]]) -> None:
        if records:
            await send_acknowledged(self._producer, self.topic, [
                (r["player_id"].encode(), self._serializer.encode(r)) for r in records])
