"""The Confluent wire format: magic byte 0, a 4-byte big-endian schema id, the Avro binary body.

Serializers are built once per (topic, schema) and reuse the parsed schema and the frame header.

Codec: with ``logical=False`` (the hot paths) bodies are encoded, and decoded when the writer is
exactly the reader's version, by a :class:`PlainCodec`: the compiled ``gamemetrics_avro`` codec
(native/gamemetrics_avro, several times faster, byte-identical to fastavro:
tests/schemas/test_native_codec.py) or fastavro. fastavro stays the reference and does the rest:
logical types, schema resolution between versions, and everything when the native module is not
installed. ``NATIVE`` says whether it is installed; which one a process uses is its setting
``avro_codec`` (``GAMEMETRICS_AVRO_CODEC``: auto, native, fastavro), resolved once at start-up
by the service factories with :func:`plain_codec` and passed to the serializers.
"""

from __future__ import annotations

import io
import json
import struct
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import Any

from fastavro import schemaless_reader, schemaless_writer

from schemas.catalog import SchemaVersion, without_logical_types
from schemas.errors import CodecUnavailableError, NotFramedError, UndecodableBodyError
from schemas.ids import SchemaIds

MAGIC_BYTE = 0
_FRAME = struct.Struct(">bI")
FRAME_SIZE = _FRAME.size


def _installed_native() -> ModuleType | None:
    try:
        import gamemetrics_avro
    except ImportError:
        return None
    return gamemetrics_avro


_INSTALLED = _installed_native()
NATIVE: bool = _INSTALLED is not None
"""True when the compiled gamemetrics_avro codec is installed (a property of the build)."""


@dataclass(frozen=True)
class PlainCodec:
    """What encodes and decodes plain-value bodies: the compiled module, or fastavro (``module=None``)."""

    module: ModuleType | None

    @property
    def name(self) -> str:
        return "native" if self.module is not None else "fastavro"

    def compile(self, schema: SchemaVersion) -> Any | None:
        """The compiled codec of ``schema`` without logical types, or None when fastavro does the work."""
        if self.module is None:
            return None
        return _compiled(self.module, json.dumps(without_logical_types(schema.schema), sort_keys=True))


FASTAVRO = PlainCodec(None)
INSTALLED = PlainCodec(_INSTALLED)
"""The best codec of this build: native when installed, else fastavro (what ``auto`` resolves to)."""


def plain_codec(choice: str) -> PlainCodec:
    """The codec a process's ``avro_codec`` setting names: ``auto`` (native when installed),
    ``native`` (refuses to start without it) or ``fastavro``."""
    if choice == "fastavro":
        return FASTAVRO
    if choice == "auto":
        return INSTALLED
    if choice == "native":
        if _INSTALLED is None:
            raise CodecUnavailableError(
                "GAMEMETRICS_AVRO_CODEC=native but the gamemetrics_avro module is not installed: "
                "run `pip install ./native/gamemetrics_avro` (needs cargo) or set it to auto"
            )
        return INSTALLED
    raise CodecUnavailableError(f"avro codec {choice!r}: expected 'auto', 'native' or 'fastavro'")


@cache
def _compiled(module: ModuleType, schema_json: str) -> Any:
    return module.Codec(schema_json)


def value_subject(topic: str) -> str:
    """Subject name under the registry's default TopicNameStrategy."""
    return f"{topic}-value"


class AvroSerializer:
    """Encodes records of one schema for one topic.

    ``logical=False`` takes timestamps as epoch-millisecond ints and UUIDs as strings, skipping
    fastavro's conversions; the bytes are the same, written by ``codec``.
    """

    def __init__(self, ids: SchemaIds, topic: str, schema: SchemaVersion, logical: bool = True,
                 codec: PlainCodec = INSTALLED) -> None:
        self.schema = schema
        self.schema_id = ids.writer_id(value_subject(topic), schema)
        self._header = _FRAME.pack(MAGIC_BYTE, self.schema_id)
        self._parsed = schema.parsed if logical else schema.plain
        self._native = None if logical else codec.compile(schema)

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
    written with exactly the reader's version then needs no resolution and is decoded by ``codec``
    (the native one, or fastavro's no-resolution path).
    """

    def __init__(self, ids: SchemaIds, reader: SchemaVersion, logical: bool = True,
                 codec: PlainCodec = INSTALLED) -> None:
        self._ids = ids
        self.reader = reader
        self._logical = logical
        self._same: dict[int, bool] = {}
        self._native = None if logical else codec.compile(reader)

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
