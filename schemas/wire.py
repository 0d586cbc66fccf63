"""The Confluent wire format: magic byte 0, a 4-byte big-endian schema id, the Avro binary body.

Serializers are built once per (topic, schema) and reuse the parsed schema and the frame header.
"""

from __future__ import annotations

import io
import struct
from typing import Any

from fastavro import schemaless_reader, schemaless_writer

from schemas.catalog import SchemaVersion
from schemas.errors import NotFramedError, UndecodableBodyError
from schemas.ids import SchemaIds

MAGIC_BYTE = 0
_FRAME = struct.Struct(">bI")
FRAME_SIZE = _FRAME.size


def value_subject(topic: str) -> str:
    """Subject name under the registry's default TopicNameStrategy."""
    return f"{topic}-value"


class AvroSerializer:
    """Encodes records of one schema for one topic.

    ``logical=False`` takes timestamps as epoch-millisecond ints and UUIDs as strings, skipping
    fastavro's conversions; the bytes are the same.
    """

    def __init__(self, ids: SchemaIds, topic: str, schema: SchemaVersion, logical: bool = True) -> None:
        self.schema = schema
        self.schema_id = ids.writer_id(value_subject(topic), schema)
        self._header = _FRAME.pack(MAGIC_BYTE, self.schema_id)
        self._parsed = schema.parsed if logical else schema.plain

    def encode(self, record: dict[str, Any]) -> bytes:
        buf = io.BytesIO()
        buf.write(self._header)
        schemaless_writer(buf, self._parsed, record)
        return buf.getvalue()


def read_frame(data: bytes) -> int:
    """The schema id of a framed message; raises NotFramedError for anything else."""
    if len(data) < FRAME_SIZE:
        raise NotFramedError(f"message of {len(data)} bytes is shorter than the 5-byte Confluent frame")
    magic, schema_id = _FRAME.unpack_from(data)
    if magic != MAGIC_BYTE:
        raise NotFramedError(f"first byte is {magic}, expected the Confluent magic byte 0")
    return schema_id


class AvroDeserializer:
    """Decodes framed messages into records of one reader schema, resolving the writer schema by id.

    ``logical=False`` leaves timestamps as epoch-millisecond ints and UUIDs as strings; a message
    written with exactly the reader's version then takes fastavro's no-resolution path.
    """

    def __init__(self, ids: SchemaIds, reader: SchemaVersion, logical: bool = True) -> None:
        self._ids = ids
        self.reader = reader
        self._logical = logical
        self._same: dict[int, bool] = {}

    def decode(self, data: bytes) -> dict[str, Any]:
        schema_id = read_frame(data)
        if self._logical:
            writer, reader = self._ids.writer_schema(schema_id), self.reader.parsed
        else:
            same = self._same.get(schema_id)
            if same is None:
                same = self._same[schema_id] = self._ids.is_version(schema_id, self.reader)
            writer, reader = self._ids.writer_schema_plain(schema_id), None if same else self.reader.plain
        try:
            return schemaless_reader(io.BytesIO(memoryview(data)[FRAME_SIZE:]), writer, reader)
        except Exception as exc:  # fastavro raises EOFError, ValueError, SchemaResolutionError, ...
            raise UndecodableBodyError(
                f"{self.reader.name} body (schema id {schema_id}, {len(data)} bytes) does not decode: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
