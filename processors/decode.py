"""Step 1, decode: Kafka message bytes -> an EventBatch record, or a typed failure."""

from __future__ import annotations

from typing import Any

from schemas.catalog import load_catalog
from schemas.ids import SchemaIds
from schemas.wire import INSTALLED, AvroDeserializer, PlainCodec
from streams.topics import RAW_EVENTS


class BatchDecoder:
    def __init__(self, ids: SchemaIds, codec: PlainCodec = INSTALLED) -> None:
        # plain: timestamps stay epoch-ms ints, ids strings (PostgreSQL converts them in the INSERT)
        self._deserializer = AvroDeserializer(
            ids, load_catalog().latest(RAW_EVENTS.value_schema), logical=False, codec=codec
        )

    def decode(self, value: bytes) -> dict[str, Any]:
        """Raises schemas.errors.WireFormatError for anything that is not an EventBatch."""
        return self._deserializer.decode(value)
