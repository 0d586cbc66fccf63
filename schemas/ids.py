"""Where schema ids come from: the pinned catalog, or a Confluent-compatible Schema Registry.

Both implement :class:`SchemaIds`. The registry one uses confluent-kafka's own registry client
(``mock://`` URLs give its in-memory client, used in tests to check byte compatibility).
"""

from __future__ import annotations

import json
from typing import Any, Protocol

import fastavro

from schemas.catalog import Catalog, SchemaVersion, load_catalog, without_logical_types
from schemas.errors import RegistryError, UnknownSchemaIdError


class SchemaIds(Protocol):
    def writer_id(self, subject: str, schema: SchemaVersion) -> int:
        """The id to put in the frame of messages written with ``schema`` under ``subject``."""

    def writer_schema(self, schema_id: int) -> Any:
        """The parsed schema that wrote messages framed with ``schema_id``."""

    def writer_schema_plain(self, schema_id: int) -> Any:
        """The same, without logical types (values stay ints and strings)."""

    def is_version(self, schema_id: int, version: SchemaVersion) -> bool:
        """True when ``schema_id`` names exactly ``version`` (then no schema resolution is needed)."""


class CatalogIds:
    """Ids pinned in ``schemas/catalog.json``: no network, no registration."""

    def __init__(self, catalog: Catalog | None = None) -> None:
        self._catalog = catalog or load_catalog()

    def writer_id(self, subject: str, schema: SchemaVersion) -> int:
        return schema.id

    def writer_schema(self, schema_id: int) -> Any:
        found = self._catalog.by_id(schema_id)
        if found is None:
            raise UnknownSchemaIdError(
                f"schema id {schema_id} is not in schemas/catalog.json; was this message written "
                "with a Schema Registry? Set GAMEMETRICS_SCHEMA_REGISTRY_URL to read it"
            )
        return found.parsed

    def writer_schema_plain(self, schema_id: int) -> Any:
        self.writer_schema(schema_id)  # same error for an unknown id
        return self._catalog.by_id(schema_id).plain  # type: ignore[union-attr]

    def is_version(self, schema_id: int, version: SchemaVersion) -> bool:
        return schema_id == version.id


class RegistryIds:
    """Ids from a Confluent-compatible Schema Registry; schemas are registered on first use."""

    def __init__(self, url: str, client: Any = None) -> None:
        from confluent_kafka.schema_registry import SchemaRegistryClient

        self._client = client if client is not None else SchemaRegistryClient.new_client({"url": url})
        self._url = url
        self._ids: dict[tuple[str, int], int] = {}
        self._schemas: dict[int, Any] = {}
        self._plain: dict[int, Any] = {}
        self._json: dict[int, dict[str, Any]] = {}

    def writer_id(self, subject: str, schema: SchemaVersion) -> int:
        from confluent_kafka.schema_registry import Schema

        key = (subject, schema.id)
        if key not in self._ids:
            try:
                self._ids[key] = self._client.register_schema(subject, Schema(schema.json, "AVRO"))
            except Exception as exc:
                raise RegistryError(
                    f"registering {schema.name} v{schema.version} under subject {subject!r} at "
                    f"{self._url} failed: {exc}"
                ) from exc
        return self._ids[key]

    def writer_schema(self, schema_id: int) -> Any:
        if schema_id not in self._schemas:
            try:
                found = self._client.get_schema(schema_id)
            except Exception as exc:
                raise UnknownSchemaIdError(
                    f"schema id {schema_id} could not be read from {self._url}: {exc}"
                ) from exc
            self._json[schema_id] = json.loads(found.schema_str)
            self._schemas[schema_id] = fastavro.parse_schema(self._json[schema_id])
        return self._schemas[schema_id]

    def writer_schema_plain(self, schema_id: int) -> Any:
        if schema_id not in self._plain:
            self.writer_schema(schema_id)
            self._plain[schema_id] = fastavro.parse_schema(without_logical_types(self._json[schema_id]))
        return self._plain[schema_id]

    def is_version(self, schema_id: int, version: SchemaVersion) -> bool:
        self.writer_schema(schema_id)
        return json.dumps(self._json[schema_id], sort_keys=True, separators=(",", ":")) == version.json


def schema_ids(registry_url: str) -> SchemaIds:
    """The id source for a deployment: a registry when its URL is set, else the catalog."""
    return RegistryIds(registry_url) if registry_url else CatalogIds()
