"""Where schema ids come from: the pinned catalog, or a Confluent-compatible Schema Registry.

Both implement :class:`SchemaIds`. The registry one uses confluent-kafka's own registry client
(``mock://`` URLs give its in-memory client, used in tests to check byte compatibility).
"""

from __future__ import annotations

import json
from typing import Any, Protocol

import fastavro

from schemas.catalog import Catalog, SchemaVersion, load_catalog
from schemas.errors import RegistryError, UnknownSchemaIdError


class SchemaIds(Protocol):
    def writer_id(self, subject: str, schema: SchemaVersion) -> int:
        """The id to put in the frame of messages written with ``schema`` under ``subject``."""

    def writer_schema(self, schema_id: int) -> Any:
        """The parsed schema that wrote messages framed with ``schema_id``."""


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


class RegistryIds:
    """Ids from a Confluent-compatible Schema Registry; schemas are registered on first use."""

    def __init__(self, url: str, client: Any = None) -> None:
        from confluent_kafka.schema_registry import SchemaRegistryClient

        self._client = client if client is not None else SchemaRegistryClient.new_client({"url": url})
        self._url = url
        self._ids: dict[tuple[str, int], int] = {}
        self._schemas: dict[int, Any] = {}

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
            self._schemas[schema_id] = fastavro.parse_schema(json.loads(found.schema_str))
        return self._schemas[schema_id]


def schema_ids(registry_url: str) -> SchemaIds:
    """The id source for a deployment: a registry when its URL is set, else the catalog."""
    return RegistryIds(registry_url) if registry_url else CatalogIds()
