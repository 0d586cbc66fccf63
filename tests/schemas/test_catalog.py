import io
import json

import fastavro
import pytest
from fastavro import schemaless_reader, schemaless_writer
from fastavro.utils import generate_many

from schemas.catalog import load_catalog
from schemas.compat import backward_compatible

CATALOG = load_catalog()
ALL_VERSIONS = [v for name in CATALOG.names() for v in CATALOG.versions(name)]
REQUIRED = {"PlayerEvent", "EventBatch", "ProcessedEventBatch", "DeadLetter", "Notification", "Recommendations"}


def test_catalog_holds_every_schema_of_the_design():
    assert REQUIRED <= set(CATALOG.names())


def test_schema_ids_are_unique_and_stable():
    ids = [v.id for v in ALL_VERSIONS]
    assert len(ids) == len(set(ids))
    # pinned: changing a released id would make old messages unreadable
    assert {v.name: v.id for v in ALL_VERSIONS if v.version == 1} == {
        "PlayerEvent": 1, "EventBatch": 2, "ProcessedEventBatch": 3,
        "DeadLetter": 4, "Notification": 5, "Recommendations": 6,
    }


@pytest.mark.parametrize("version", ALL_VERSIONS, ids=lambda v: f"{v.name}.v{v.version}")
def test_each_version_reads_its_own_data_and_the_previous_versions(version):
    previous = [v for v in CATALOG.versions(version.name) if v.version <= version.version]
    for writer in previous:
        assert backward_compatible(writer.parsed, version.parsed) == [], (
            f"{version.name} v{version.version} cannot read data written by v{writer.version}"
        )


@pytest.mark.parametrize("version", ALL_VERSIONS, ids=lambda v: f"{v.name}.v{v.version}")
def test_expanded_schema_is_self_contained(version):
    # what a Schema Registry stores: parses alone, with no named types from elsewhere
    fastavro.parse_schema(json.loads(version.json))


def test_compat_check_catches_a_new_field_without_default():
    writer = CATALOG.latest("DeadLetter")
    reader = json.loads(writer.json)
    reader["fields"].append({"name": "tenant", "type": "string"})
    problems = backward_compatible(writer.parsed, fastavro.parse_schema(reader))
    assert problems and "tenant" in problems[0]


def test_compat_check_accepts_a_new_field_with_default():
    writer = CATALOG.latest("DeadLetter")
    reader = json.loads(writer.json)
    reader["fields"].append({"name": "tenant", "type": ["null", "string"], "default": None})
    assert backward_compatible(writer.parsed, fastavro.parse_schema(reader)) == []


def _encode(schema, record) -> bytes:
    buf = io.BytesIO()
    schemaless_writer(buf, schema, record)
    return buf.getvalue()


@pytest.mark.parametrize("version", ALL_VERSIONS, ids=lambda v: f"{v.name}.v{v.version}")
def test_generated_records_survive_a_decode_encode_cycle(version):
    # decoded values carry logical types (UUID, datetime); encoding them again loses nothing
    for record in generate_many(version.parsed, 20):
        decoded = schemaless_reader(io.BytesIO(_encode(version.parsed, record)), version.parsed)
        again = schemaless_reader(io.BytesIO(_encode(version.parsed, decoded)), version.parsed)
        assert again == decoded
