import struct
import uuid
from datetime import datetime, timezone

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer as ConfluentAvroDeserializer
from confluent_kafka.schema_registry.avro import AvroSerializer as ConfluentAvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from schemas.catalog import load_catalog
from schemas.errors import NotFramedError, UndecodableBodyError, UnknownSchemaIdError
from schemas.ids import CatalogIds, RegistryIds
from schemas.wire import AvroDeserializer, AvroSerializer

TOPIC = "player.events.raw"
EVENT_BATCH = load_catalog().latest("EventBatch")
NOW_MS = 1_795_000_000_000


def a_batch() -> dict:
    return {
        "batch_id": str(uuid.uuid4()),
        "game_id": "star-miner",
        "player_id": "p-1",
        "received_at": NOW_MS,
        "sent_at": NOW_MS - 250,
        "client_ip_hash": None,
        "events": [
            {
                "event_id": str(uuid.uuid4()),
                "event_type": "purchase",
                "player_id": "p-1",
                "ts": NOW_MS - 300,
                "event_time": NOW_MS - 50,
                "session_id": "s-1",
                "platform": "ios",
                "app_version": "1.2.3",
                "country": "DE",
                "properties": {"item_id": "sword", "amount": 4.99, "qty": 2, "first": True},
            }
        ],
    }


def test_frame_is_magic_byte_then_big_endian_catalog_id():
    data = AvroSerializer(CatalogIds(), TOPIC, EVENT_BATCH).encode(a_batch())
    assert data[0] == 0
    assert struct.unpack(">I", data[1:5])[0] == EVENT_BATCH.id


def test_round_trip_keeps_every_value_and_property_type():
    batch = a_batch()
    decoded = AvroDeserializer(CatalogIds(), EVENT_BATCH).decode(AvroSerializer(CatalogIds(), TOPIC, EVENT_BATCH).encode(batch))
    event = decoded["events"][0]
    assert str(decoded["batch_id"]) == batch["batch_id"]
    assert decoded["received_at"] == datetime.fromtimestamp(NOW_MS / 1000, timezone.utc)
    assert event["properties"] == {"item_id": "sword", "amount": 4.99, "qty": 2, "first": True}
    assert type(event["properties"]["qty"]) is int and type(event["properties"]["first"]) is bool


@pytest.mark.parametrize(
    "data, error",
    [
        (b"", NotFramedError),
        (b"\x00\x00\x00", NotFramedError),
        (b"\x01\x00\x00\x00\x02abc", NotFramedError),
        (b"\x00\x00\x00\x03\xe7abc", UnknownSchemaIdError),
        (b"\x00\x00\x00\x00\x02\xff\xff\xff", UndecodableBodyError),
    ],
    ids=["empty", "short", "wrong-magic", "unknown-id", "corrupt-body"],
)
def test_bad_bytes_raise_a_typed_error_that_says_why(data, error):
    with pytest.raises(error) as info:
        AvroDeserializer(CatalogIds(), EVENT_BATCH).decode(data)
    assert str(info.value)


def test_confluent_avro_deserializer_reads_our_bytes():
    url = f"mock://{uuid.uuid4().hex}"
    client = SchemaRegistryClient.new_client({"url": url})
    ours = AvroSerializer(RegistryIds(url, client), TOPIC, EVENT_BATCH)
    batch = a_batch()
    data = ours.encode(batch)
    theirs = ConfluentAvroDeserializer(client)
    decoded = theirs(data, SerializationContext(TOPIC, MessageField.VALUE))
    assert decoded["player_id"] == "p-1"
    assert decoded["events"][0]["properties"]["amount"] == 4.99
    assert str(decoded["events"][0]["event_id"]) == batch["events"][0]["event_id"]


def test_we_read_bytes_written_by_confluent_avro_serializer():
    url = f"mock://{uuid.uuid4().hex}"
    client = SchemaRegistryClient.new_client({"url": url})
    theirs = ConfluentAvroSerializer(client, EVENT_BATCH.json, conf={"auto.register.schemas": True})
    data = theirs(a_batch(), SerializationContext(TOPIC, MessageField.VALUE))
    decoded = AvroDeserializer(RegistryIds(url, client), EVENT_BATCH).decode(data)
    assert decoded["game_id"] == "star-miner"


def test_plain_mode_writes_the_same_bytes_and_reads_back_ints_and_strings():
    batch = a_batch()
    logical = AvroSerializer(CatalogIds(), TOPIC, EVENT_BATCH).encode(batch)
    plain = AvroSerializer(CatalogIds(), TOPIC, EVENT_BATCH, logical=False).encode(batch)
    assert plain == logical
    decoded = AvroDeserializer(CatalogIds(), EVENT_BATCH, logical=False).decode(plain)
    assert decoded["received_at"] == NOW_MS and decoded["batch_id"] == batch["batch_id"]
    assert decoded["events"][0]["event_time"] == NOW_MS - 50


def test_plain_mode_resolves_an_older_writer_version():
    catalog_v1 = load_catalog().versions("ProcessedEventBatch")[0]
    latest = load_catalog().latest("ProcessedEventBatch")
    assert latest.version > catalog_v1.version
    record = {"batch_id": str(uuid.uuid4()), "game_id": "g", "player_id": "p", "received_at": NOW_MS,
              "processed_at": NOW_MS, "events": [{"event": a_batch()["events"][0], "is_new_player": True,
                                                  "session_seq": 1, "revenue_usd": None}]}
    data = AvroSerializer(CatalogIds(), "t", catalog_v1, logical=False).encode(record)
    decoded = AvroDeserializer(CatalogIds(), latest, logical=False).decode(data)
    assert decoded["events"][0]["player_lifetime_revenue_usd"] is None  # v2 field, default
    assert decoded["events"][0]["event"]["ts"] == NOW_MS - 300
