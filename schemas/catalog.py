"""The project's schema catalog: every version of every Avro schema, with its pinned wire id.

``catalog.json`` lists the versions; each ``.avsc`` file may refer to named types of other files
(``requires``). Loading expands those references inline so every schema is self-contained (what a
Schema Registry stores) and parses it once with fastavro; parsed schemas are reused everywhere.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import fastavro

from schemas.errors import CatalogError

NAMESPACE = "io.gamemetrics"


@dataclass(frozen=True)
class SchemaVersion:
    """One version of one schema: its pinned id, the expanded JSON and the parsed form."""

    name: str
    version: int
    id: int
    schema: dict[str, Any] = field(repr=False)
    parsed: Any = field(repr=False, compare=False)
    plain: Any = field(repr=False, compare=False, default=None)
    """The same schema without logical types: byte-identical on the wire, but values stay
    epoch-millisecond ints and UUID strings (no conversion: the hot paths use it)."""

    @property
    def fullname(self) -> str:
        return f"{NAMESPACE}.{self.name}"

    @property
    def json(self) -> str:
        return json.dumps(self.schema, separators=(",", ":"), sort_keys=True)


def without_logical_types(node: Any) -> Any:
    """The schema with every ``logicalType`` annotation removed (the encoding does not change)."""
    if isinstance(node, dict):
        return {k: without_logical_types(v) for k, v in node.items() if k != "logicalType"}
    if isinstance(node, list):
        return [without_logical_types(item) for item in node]
    return node


def _inline(node: Any, definitions: dict[str, dict[str, Any]], seen: set[str]) -> Any:
    """Replace the first reference to each required named type by its definition."""
    if isinstance(node, str):
        if node in definitions and node not in seen:
            seen.add(node)
            return _inline(copy.deepcopy(definitions[node]), definitions, seen)
        return node
    if isinstance(node, list):
        return [_inline(item, definitions, seen) for item in node]
    if isinstance(node, dict):
        return {key: _inline(value, definitions, seen) for key, value in node.items()}
    return node


class Catalog:
    """All schema versions, by name and by id."""

    def __init__(self, versions: list[SchemaVersion]) -> None:
        self._by_id = {v.id: v for v in versions}
        if len(self._by_id) != len(versions):
            raise CatalogError("schemas/catalog.json: two schema versions share an id")
        self._by_name: dict[str, list[SchemaVersion]] = {}
        for v in sorted(versions, key=lambda v: v.version):
            self._by_name.setdefault(v.name, []).append(v)

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def versions(self, name: str) -> list[SchemaVersion]:
        try:
            return list(self._by_name[name])
        except KeyError:
            raise CatalogError(f"no schema named {name!r}; known: {', '.join(self.names())}") from None

    def latest(self, name: str) -> SchemaVersion:
        return self.versions(name)[-1]

    def by_id(self, schema_id: int) -> SchemaVersion | None:
        return self._by_id.get(schema_id)


def _read(filename: str) -> dict[str, Any]:
    try:
        return json.loads(resources.files("schemas").joinpath(filename).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CatalogError(f"schemas/{filename}: cannot be read as JSON: {exc}") from exc


@cache
def load_catalog() -> Catalog:
    """Load, expand and parse every schema of ``catalog.json`` (once per process)."""
    entries = _read("catalog.json")["schemas"]
    raw = {(e["name"], e["version"]): _read(e["file"]) for e in entries}
    latest_raw: dict[str, dict[str, Any]] = {}
    for (name, version), schema in sorted(raw.items(), key=lambda kv: kv[0][1]):
        latest_raw[f"{NAMESPACE}.{name}"] = schema
    versions = []
    for entry in entries:
        definitions = {f"{NAMESPACE}.{req}": latest_raw[f"{NAMESPACE}.{req}"] for req in entry["requires"]}
        expanded = _inline(raw[(entry["name"], entry["version"])], definitions, set())
        try:
            parsed = fastavro.parse_schema(expanded)
            plain = fastavro.parse_schema(without_logical_types(expanded))
        except Exception as exc:  # fastavro raises several types for a bad schema
            raise CatalogError(f"schemas/{entry['file']}: not a valid Avro schema: {exc}") from exc
        versions.append(
            SchemaVersion(entry["name"], entry["version"], entry["id"], expanded, parsed, plain)
        )
    return Catalog(versions)
