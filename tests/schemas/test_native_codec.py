"""The compiled codec (native/gamemetrics_avro) against fastavro, the reference.

For every schema of the catalog: the same bytes for every record, the same values back; union
branches chosen as fastavro chooses them for any value fastavro accepts; bad bytes and bad values
give a ValueError/TypeError that says where, never a crash. Skipped when the native module is not
built (schemas.wire then uses fastavro alone).
"""

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys
from typing import Any

import fastavro
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from operations.simulate import Simulator
from ingest.batching import group_by_player
from ingest.validation import validate_batch
from processors.enrich import State, enrich_batch
from processors.publish import processed_batch
from schemas.catalog import SchemaVersion, load_catalog, without_logical_types
from schemas.errors import CodecUnavailableError, UndecodableBodyError
from schemas.ids import CatalogIds
from schemas.wire import FRAME_SIZE, AvroDeserializer, AvroSerializer, plain_codec

gamemetrics_avro = pytest.importorskip("gamemetrics_avro", reason="native codec not built (cargo missing?)")

VERSIONS = [v for name in load_catalog().names() for v in load_catalog().versions(name)]
USD_PER_UNIT = {"USD": 1.0, "EUR": 1.08, "GBP": 1.27, "JPY": 0.0067, "BRL": 0.2}
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def plain_json(version: SchemaVersion) -> Any:
    return without_logical_types(version.schema)


def codec(schema: Any) -> Any:
    return gamemetrics_avro.Codec(json.dumps(schema))


def fastavro_encode(parsed: Any, record: Any) -> bytes:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, parsed, record)
    return buf.getvalue()


def fastavro_decode(parsed: Any, data: bytes) -> Any:
    return fastavro.schemaless_reader(io.BytesIO(data), parsed, None)


# --- strategies: valid values of an Avro schema (plain JSON, named types inline on first use) ---

PRIMITIVE_VALUES = {
    "null": st.none(),
    "boolean": st.booleans(),
    "int": st.integers(-(2**31), 2**31 - 1),
    "long": st.integers(-(2**63), 2**63 - 1),
    "float": st.floats(width=32, allow_nan=False),
    "double": st.floats(allow_nan=False),
    "bytes": st.binary(max_size=20),
    "string": st.text(max_size=20),
}


def values_of(schema: Any, named: dict[str, st.SearchStrategy], namespace: str = "") -> st.SearchStrategy:
    if isinstance(schema, str):
        if schema in PRIMITIVE_VALUES:
            return PRIMITIVE_VALUES[schema]
        return named[schema if "." in schema else f"{namespace}.{schema}".lstrip(".")]
    if isinstance(schema, list):
        return st.one_of([values_of(branch, named, namespace) for branch in schema])
    kind = schema["type"]
    if kind in PRIMITIVE_VALUES:
        return PRIMITIVE_VALUES[kind]
    if kind == "array":
        return st.lists(values_of(schema["items"], named, namespace), max_size=4)
    if kind == "map":
        return st.dictionaries(st.text(max_size=8), values_of(schema["values"], named, namespace), max_size=4)
    name = schema["name"]
    ns = schema.get("namespace", namespace) if "." not in name else name.rsplit(".", 1)[0]
    fullname = name if "." in name else f"{ns}.{name}".lstrip(".")
    if kind == "enum":
        strategy = st.sampled_from(schema["symbols"])
    elif kind == "fixed":
        strategy = st.binary(min_size=schema["size"], max_size=schema["size"])
    else:
        fields = {f["name"]: values_of(f["type"], named, ns) for f in schema["fields"]}
        defaulted = {f["name"] for f in schema["fields"] if "default" in f}
        strategy = st.fixed_dictionaries(
            {k: v for k, v in fields.items() if k not in defaulted},
            optional={k: v for k, v in fields.items() if k in defaulted},  # missing -> the default
        )
    named[fullname] = strategy
    return strategy


def unions_of(schema: Any) -> list[Any]:
    """Every union type in a schema, once each."""
    found: list[Any] = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            if node not in found:
                found.append(node)
            for branch in node:
                walk(branch)
        elif isinstance(node, dict):
            for key in ("type", "items", "values"):
                if key in node and not isinstance(node[key], str):
                    walk(node[key])
            for f in node.get("fields", []):
                walk(f["type"])

    walk(schema)
    return found


CATALOG_UNIONS = [u for v in VERSIONS for u in unions_of(plain_json(v))]
CATALOG_UNIONS = [u for i, u in enumerate(CATALOG_UNIONS) if u not in CATALOG_UNIONS[:i]]

# Anything a caller might put where a union is expected (tuples are tested on their own).
LOOSE_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=8),
    st.binary(max_size=8), st.lists(st.integers(-3, 3), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(0, 3), max_size=2),
)


def realistic_batches(count: int = 20) -> list[dict[str, Any]]:
    """EventBatch records as the ingest makes them: simulated, validated, grouped per player."""
    sim = Simulator(200, seed=7)
    now = 1_795_000_000_000
    batches = []
    for _ in range(count):
        events = sim.next_events(100, now)
        accepted, rejected = validate_batch(events, now, now - 40)
        assert not rejected, rejected[:1]
        batches += [batch for _, batch in group_by_player(accepted, "star-miner", now, now - 40, "ab12")]
    return batches


def processed(batch: dict[str, Any]) -> dict[str, Any]:
    """The ProcessedEventBatch the landing worker publishes for a batch."""
    state = State()
    return processed_batch(batch, enrich_batch(batch, batch["events"], state, USD_PER_UNIT), 1_795_000_000_500)


# --- same bytes, same values -----------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: f"{v.name}-v{v.version}")
@SETTINGS
@given(data=st.data())
def test_every_catalog_schema_encodes_to_fastavros_bytes_and_decodes_to_its_values(version, data):
    schema = plain_json(version)
    record = data.draw(values_of(schema, {}))
    expected = fastavro_encode(version.plain, record)
    native = codec(schema)
    assert native.encode(record) == expected
    assert native.decode(expected) == fastavro_decode(version.plain, expected)


@pytest.mark.parametrize("union", CATALOG_UNIONS, ids=json.dumps)
@SETTINGS
@given(value=LOOSE_VALUES)
def test_union_branch_is_fastavros_choice_for_any_value_it_accepts(union, value):
    schema = {"type": "record", "name": "T", "fields": [{"name": "x", "type": union}]}
    try:
        expected = fastavro_encode(fastavro.parse_schema(schema), {"x": value})
    except Exception:  # fastavro refuses it: so must we, with a Python error, not a crash
        with pytest.raises((TypeError, ValueError)):
            codec(schema).encode({"x": value})
        return
    assert codec(schema).encode({"x": value}) == expected


@pytest.mark.parametrize(
    "union, value",
    [
        (["null", "string"], ("string", "x")),
        (["null", "long"], ("null", None)),
        (["boolean", "long", "double", "string"], ("double", 3)),
        (["boolean", "long", "double", "string"], ("string", "7")),
    ],
)
def test_tuple_notation_names_the_branch_as_in_fastavro(union, value):
    schema = {"type": "record", "name": "T", "fields": [{"name": "x", "type": union}]}
    assert codec(schema).encode({"x": value}) == fastavro_encode(fastavro.parse_schema(schema), {"x": value})


def test_property_values_take_fastavros_branch_bool_before_int_int_before_double():
    version = load_catalog().latest("EventBatch")
    batch = realistic_batches(1)[0]
    batch["events"][0]["properties"] = {
        "yes": True, "no": False, "one": 1, "big": 2**63, "neg": -(2**63), "half": 0.5, "nan": math.nan,
        "inf": -math.inf, "zero": -0.0, "text": "héllo ✓", "empty": "",
    }
    data = codec(plain_json(version)).encode(batch)
    assert data == fastavro_encode(version.plain, batch)
    props = codec(plain_json(version)).decode(data)["events"][0]["properties"]
    assert [type(props[k]) for k in ("yes", "one", "big", "half", "text")] == [bool, int, float, float, str]


def test_realistic_event_batches_and_processed_batches_are_byte_identical():
    raw = load_catalog().latest("EventBatch")
    out = load_catalog().latest("ProcessedEventBatch")
    raw_codec, out_codec = codec(plain_json(raw)), codec(plain_json(out))
    for batch in realistic_batches():
        data = raw_codec.encode(batch)
        assert data == fastavro_encode(raw.plain, batch)
        assert raw_codec.decode(data) == fastavro_decode(raw.plain, data) == batch
        record = processed(batch)
        data = out_codec.encode(record)
        assert data == fastavro_encode(out.plain, record)
        assert out_codec.decode(data) == fastavro_decode(out.plain, data)


def test_prefix_goes_first_and_decode_starts_at_the_offset():
    version = load_catalog().latest("EventBatch")
    native = codec(plain_json(version))
    batch = realistic_batches(1)[0]
    framed = native.encode(batch, b"\x00\x00\x00\x00\x02")
    assert framed == b"\x00\x00\x00\x00\x02" + fastavro_encode(version.plain, batch)
    assert native.decode(framed, 5) == batch
    assert native.decode(memoryview(framed), 5) == batch
    assert native.decode(bytearray(framed), 5) == batch
    assert native.decode(framed + b"trailing", 5) == batch  # ignored, as fastavro does


# --- bad bytes: ValueError saying where, never a crash -------------------------------------------


def test_every_truncation_of_a_valid_body_is_a_value_error():
    version = load_catalog().latest("ProcessedEventBatch")
    native = codec(plain_json(version))
    data = native.encode(processed(realistic_batches(1)[0]))
    for end in range(len(data)):
        with pytest.raises(ValueError, match="truncated|longer than|cannot fit"):
            native.decode(data[:end])


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"\x01", "negative string length"),
        (b"\xfe\xff\xff\xff\xff\xff\xff\xff\xff\x01", "longer than the 0 bytes left"),  # 2**62-byte string
        (b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", "does not fit in 64 bits"),
        (b"\x02\xff", "not UTF-8"),
    ],
)
def test_bad_lengths_and_bytes_say_what_is_wrong(body, reason):
    native = codec(plain_json(load_catalog().latest("EventBatch")))
    with pytest.raises(ValueError, match=reason):
        native.decode(body)


def test_a_huge_block_count_is_refused_before_anything_is_allocated():
    native = codec({"type": "array", "items": "long"})
    with pytest.raises(ValueError, match="cannot fit"):
        native.decode(b"\xfe\xff\xff\xff\xff\xff\xff\xff\xff\x01")
    with pytest.raises(ValueError, match="out of range"):
        codec(["null", "long"]).decode(b"\x04")


@pytest.mark.parametrize("offset", [-1, 6])
def test_an_offset_outside_the_data_is_a_value_error(offset):
    with pytest.raises(ValueError, match="offset"):
        codec("long").decode(b"\x00\x00\x00\x00\x01", offset)


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: f"{v.name}-v{v.version}")
@SETTINGS
@given(data=st.binary(max_size=300))
def test_random_bytes_decode_as_fastavro_decodes_them_or_raise_value_error(version, data):
    native = codec(plain_json(version))
    try:
        value = native.decode(data)
    except ValueError:
        return
    assert repr(value) == repr(fastavro_decode(version.plain, data))  # repr: NaN-safe equality


@SETTINGS
@given(data=st.data())
def test_corrupted_bodies_decode_as_fastavro_decodes_them_or_raise_value_error(data):
    version = load_catalog().latest("ProcessedEventBatch")
    native = codec(plain_json(version))
    body = bytearray(native.encode(processed(realistic_batches(1)[0])))
    for _ in range(data.draw(st.integers(1, 4))):
        body[data.draw(st.integers(0, len(body) - 1))] = data.draw(st.integers(0, 255))
    try:
        value = native.decode(bytes(body))
    except ValueError:
        return
    assert repr(value) == repr(fastavro_decode(version.plain, bytes(body)))


# --- bad values: TypeError/ValueError naming the field path ----------------------------------------


@pytest.mark.parametrize(
    "change, error, message",
    [
        (lambda b: b["events"][3]["properties"].update(x=object()), ValueError, r"^events\[3\]\.properties\.x: object .* matches no branch"),
        (lambda b: b["events"][2].pop("event_type"), ValueError, r"^events\[2\]\.event_type: no value and no default"),
        (lambda b: b["events"][1].update(ts="yesterday"), TypeError, r"^events\[1\]\.ts: expected an int, got str"),
        (lambda b: b["events"][1].update(ts=1.5), TypeError, r"^events\[1\]\.ts: expected an int, got float"),
        (lambda b: b["events"][0].update(ts=2**64), ValueError, r"^events\[0\]\.ts: .* out of the range of an Avro long"),
        (lambda b: b["events"][0].update(session_id=7), ValueError, r"^events\[0\]\.session_id: int 7 matches no branch of union \[null, string\]"),
        (lambda b: b["events"][0]["properties"].update({3: "x"}), TypeError, r"^events\[0\]\.properties: map keys must be str"),
        (lambda b: b.update(events=[1]), TypeError, r"^events\[0\]: expected a dict for record io\.gamemetrics\.PlayerEvent"),
        (lambda b: b.update(events="abc"), TypeError, r"^events: expected a list, got str"),
        (lambda b: b.update(game_id=None), TypeError, r"^game_id: expected a str, got NoneType"),
    ],
    ids=["union", "missing", "str-for-long", "float-for-long", "long-range", "int-for-string", "map-key", "record", "array", "null"],
)
def test_wrong_values_raise_errors_naming_the_field(change, error, message):
    batch = realistic_batches(1)[0]
    change(batch)
    native = codec(plain_json(load_catalog().latest("EventBatch")))
    with pytest.raises(error, match=message):
        native.encode(batch)


def test_an_int_field_refuses_what_does_not_fit_32_bits():
    schema = plain_json(load_catalog().latest("DeadLetter"))
    record = {"error_type": "x", "detail": "d", "source_topic": "t", "source_partition": 2**31, "source_offset": 1,
              "original": b"", "failed_at": 0, "processor": "p"}
    with pytest.raises(ValueError, match=r"^source_partition: 2147483648 is out of the range of an Avro int"):
        codec(schema).encode(record)
    record["source_partition"] = 2**31 - 1
    assert codec(schema).encode(record) == fastavro_encode(load_catalog().latest("DeadLetter").plain, record)


def test_a_self_referencing_record_value_is_an_error_not_a_crash():
    node = {"value": 1, "next": None}
    node["next"] = node
    schema = {"type": "record", "name": "Node", "fields": [{"name": "value", "type": "long"},
                                                           {"name": "next", "type": ["null", "Node"]}]}
    with pytest.raises(ValueError, match="nested deeper"):
        codec(schema).encode(node)


def test_a_schema_that_does_not_compile_is_a_value_error():
    with pytest.raises(ValueError, match="unknown type"):
        codec({"type": "record", "name": "R", "fields": [{"name": "a", "type": "Missing"}]})


# --- schemas.wire uses it ------------------------------------------------------------------------------


def test_wire_plain_mode_uses_the_native_codec_with_the_same_frames():
    import schemas.wire

    assert schemas.wire.NATIVE
    version = load_catalog().latest("EventBatch")
    batch = realistic_batches(1)[0]
    frame = AvroSerializer(CatalogIds(), "t", version, logical=False).encode(batch)
    assert frame == AvroSerializer(CatalogIds(), "t", version).encode(batch)  # fastavro, logical types
    assert AvroDeserializer(CatalogIds(), version, logical=False).decode(frame) == batch
    with pytest.raises(UndecodableBodyError, match=r"^EventBatch body \(schema id 2, \d+ bytes\) does not decode: ValueError: "):
        AvroDeserializer(CatalogIds(), version, logical=False).decode(frame[: FRAME_SIZE + 40])


@pytest.mark.parametrize("value, native", [("fastavro", "False"), ("auto", "True"), ("native", "True")])
def test_the_environment_can_force_fastavro(value, native):
    """GAMEMETRICS_AVRO_CODEC is the ``avro_codec`` setting, resolved at start-up as the factories do."""
    env = {**os.environ, "GAMEMETRICS_AVRO_CODEC": value}
    program = ("from gamemetrics.settings import load_settings; from schemas.wire import plain_codec; "
               "print(plain_codec(load_settings().avro_codec).module is not None)")
    out = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == native


def test_an_unknown_codec_is_refused_at_start_up():
    with pytest.raises(CodecUnavailableError, match="expected 'auto', 'native' or 'fastavro'"):
        plain_codec("turbo")


def test_the_codec_passed_in_decides_and_both_write_the_same_frames():
    version = load_catalog().latest("EventBatch")
    batch = realistic_batches(1)[0]
    native, fastavro_only = plain_codec("native"), plain_codec("fastavro")
    assert (native.name, fastavro_only.name) == ("native", "fastavro")
    frame = AvroSerializer(CatalogIds(), "t", version, logical=False, codec=fastavro_only).encode(batch)
    assert frame == AvroSerializer(CatalogIds(), "t", version, logical=False, codec=native).encode(batch)
    assert AvroDeserializer(CatalogIds(), version, logical=False, codec=fastavro_only).decode(frame) == batch
