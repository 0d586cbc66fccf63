"""Faust codecs for the Confluent Avro wire format of ``schemas/``, one per (topic, schema).

Topics whose bad messages must become typed dead letters (``player.events.raw``) stay ``raw``
and are decoded by the processors; the topics we write ourselves use these codecs.
"""

from __future__ import annotations

from typing import Any

import faust

from gamemetrics.settings import Settings
from schemas.catalog import load_catalog
from schemas.ids import SchemaIds, schema_ids
from schemas.wire import AvroDeserializer, AvroSerializer
from streams.topics import TopicSpec


class AvroCodec(faust.Codec):
    """Encodes and decodes one schema's records in the Confluent wire format."""

    def __init__(self, ids: SchemaIds, topic: str, schema_name: str) -> None:
        super().__init__()
        schema = load_catalog().latest(schema_name)
        self._serializer = AvroSerializer(ids, topic, schema)
        self._deserializer = AvroDeserializer(ids, schema)

    def _dumps(self, obj: Any) -> bytes:
        return self._serializer.encode(obj)

    def _loads(self, s: bytes) -> Any:
        return self._deserializer.decode(s)


def codec_for(settings: Settings, spec: TopicSpec, ids: SchemaIds | None = None) -> AvroCodec:
    return AvroCodec(ids or schema_ids(settings.schema_registry_url), settings.topic(spec.name), spec.value_schema)
