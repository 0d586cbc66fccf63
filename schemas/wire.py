"""The Confluent wire format: magic byte 0, a 4-byte big-endian schema id, the Avro binary body.

Serializers are built once per (topic, schema) and reuse the parsed schema and the frame header.

Codec: with ``logical=False`` (the hot paths) bodies are encoded, and decoded when the writer is
exactly the reader's version, by the compiled ``gamemetrics_avro`` codec (native/gamemetrics_avro,
several times faster, byte-identical to fastavro: tests/schemas/test_native_codec.py). fastavro
stays the reference and does the rest: logical types, schema resolution between versions, and
everything when the native module is not installed. ``NATIVE`` says which one is in use;
``GAMEMETRICS_AVRO_CODEC=fastavro`` forces fastavro, ``=native`` insists on the native codec.
"""

from __future__ import annotations

import io
import json
import os
import struct
from functools import cache
from types import ModuleType
from typing import Any

from fastavro import schemaless_reader, schemaless_writer

from schemas.catalog import SchemaVersion, without_logical_types
from schemas.errors import NotFramedError, UndecodableBodyError
from schemas.ids import SchemaIds

MAGIC_BYTE = 0
_FRAME = struct.Struct(">bI")
FRAME_SIZE = _FRAME.size

CODEC_ENV = "GAMEMETRICS_AVRO_CODEC"
"""``fastavro`` forces fastavro; ``native`` fails at import unless the native codec is installed;
unset (or ``auto``) uses the native codec when it is installed. Read once, at import."""


def _native_module() -> ModuleType | None:
    # Read here, once, and not through Settings: the codec is a property of the installed build,
    # needed by every process that imports this module (ingest, workers, tools, tests).
    choice = os.environ.get(CODEC_ENV, "auto").strip().lower() or "auto"
    if choice not in ("auto", "native", "fastavro"):
        raise ValueError(f"{CODEC_ENV}={choice!r}: expected 'native', 'fastavro' or unset (auto)")
    if choice == "fastavro":
        return None
    try:
        import gamemetrics_avro
    except ImportError as exc:
        if choice == "native":
            raise ImportError(
                f"{CODEC_ENV}=native but the gamemetrics_avro module is not installed: "
                "run `pip install ./native/gamemetrics_avro` (needs cargo) or unset the variable"
            ) from exc
        return None
    return gamemetrics_avro


_native = _native_module()
NATIVE: bool = _native is not None
"""True when plain-value bodies go through the compiled gamemetrics_avro codec."""


def native_codec(schema: SchemaVersion) -> Any | None:
    """The compiled codec of ``schema`` without logical types, or None when fastavro is in use."""
    if _native is None:
        return None
    return _compiled(_native, json.dumps(without_logical_types(schema.schema), sort_keys=True))


@cache
def _compiled(module: ModuleType, schema_json: str) -> Any:
    return module.Codec(schema_json)


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
        self._native = None if logical else native_codec(schema)

    def encode(self, record: dict[str, Any]) -> bytes:
        """Raises TypeError or ValueError for a record that does not fit the schema."""
        if self._native is not None:
            return self._native.encode(record, self._header)
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
    written with exactly the reader's version then needs no resolution and is decoded by the
    native codec (``NATIVE``), or by fastavro's no-resolution path.
    """

    def __init__(self, ids: SchemaIds, reader: SchemaVersion, logical: bool = True) -> None:
        self._ids = ids
        self.reader = reader
        self._logical = logical
        self._same: dict[int, bool] = {}
        self._native = None if logical else native_codec(reader)

    def decode(self, data: bytes) -> dict[str, Any]:
        schema_id = read_frame(data)
        if self._logical:
            writer, reader = self._ids.writer_schema(schema_id), self.reader.parsed
        else:
            same = self._same.get(schema_id)
            if same is None:
                same = self._same[schema_id] = self._ids.is_version(schema_id, self.reader)
            if same and self._native is not None:
                try:
                    return self._native.decode(data, FRAME_SIZE)
                except ValueError as exc:  # truncated or corrupt body
                    raise self._undecodable(schema_id, data, exc) from exc
            writer, reader = self._ids.writer_schema_plain(schema_id), None if same else self.reader.plain
        try:
            return schemaless_reader(io.BytesIO(memoryview(data)[FRAME_SIZE:]), writer, reader)
        except Exception as exc:  # fastavro raises EOFError, ValueError, SchemaResolutionError, ...
            raise self._undecodable(schema_id, data, exc) from exc

    def _undecodable(self, schema_id: int, data: bytes, exc: Exception) -> UndecodableBodyError:
        return UndecodableBodyError(
            f"{self.reader.name} body (schema id {schema_id}, {len(data)} bytes) does not decode: "
            f"{type(exc).__name__}: {exc}"
        )
