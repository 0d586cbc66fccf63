"""The thinnest real path: HTTP POST -> ingest -> player.events.raw -> Faust worker -> PostgreSQL."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from store import db
from store.games import create_game
from schemas.catalog import load_catalog
from schemas.ids import CatalogIds
from schemas.wire import AvroDeserializer
from streams.app import APP_ID
from streams.topics import DLQ, RAW_EVENTS
from tests.helpers import group_caught_up
from tests.services import running_ingest, running_worker, wait_for

pytestmark = pytest.mark.integration


def new_game(settings):
    with db.connect(settings) as conn:
        return create_game(conn, f"Game {uuid.uuid4().hex[:6]}")


def events_for(players: list[str], per_player: int) -> list[dict]:
    now = int(time.time() * 1000)
    return [
        {
            "event_id": str(uuid.uuid4()),
            "event_type": "progression",
            "player_id": player,
            "ts": now - 1000 + i,
            "session_id": f"s-{player}",
            "platform": "android",
            "properties": {"level": i, "status": "complete"},
        }
        for player in players
        for i in range(per_player)
    ]


def stored_rows(settings, game_id):
    with db.connect(settings) as conn:
        return conn.execute(
            "SELECT event_id::text, player_id, event_type, properties, platform, session_id "
            "FROM player_events WHERE game_id = %s ORDER BY player_id, event_time",
            (game_id,),
        ).fetchall()


def post(url, api_key, events, sent_at=None):
    body = {"events": events}
    if sent_at is not None:
        body["sent_at"] = sent_at
    return httpx.post(f"{url}/v1/events", json=body, headers={"Authorization": f"Bearer {api_key}"}, timeout=30)


def test_posted_events_land_in_postgres_once(isolated, tmp_path):
    game = new_game(isolated)
    events = events_for(["alice", "bob", "carol"], 4)
    with running_ingest(isolated, tmp_path) as url, running_worker(isolated, tmp_path):
        response = post(url, game.api_key, events, sent_at=int(time.time() * 1000))
        assert response.status_code == 200, response.text
        assert response.json() == {"accepted": 12, "rejected": []}
        rows = wait_for(lambda: len(stored_rows(isolated, game.game_id)) == 12 and stored_rows(isolated, game.game_id),
                        what="12 rows in player_events")
        # the client retries the same request: no new rows
        assert post(url, game.api_key, events).json()["accepted"] == 12
        wait_for(lambda: group_caught_up(isolated), what="the worker to commit the retried batch")
    assert len(stored_rows(isolated, game.game_id)) == 12
    by_id = {row[0]: row for row in rows}
    for event in events:
        event_id, player, event_type, properties, platform, session = by_id[event["event_id"]]
        assert (player, event_type, platform, session) == (event["player_id"], "progression", "android", event["session_id"])
        assert properties == event["properties"]


def test_kafka_replay_from_offset_zero_adds_no_rows(isolated, tmp_path):
    game = new_game(isolated)
    with running_ingest(isolated, tmp_path) as url:
        with running_worker(isolated, tmp_path, "worker-1"):
            assert post(url, game.api_key, events_for(["p1", "p2", "p3", "p4"], 5)).status_code == 200
            wait_for(lambda: len(stored_rows(isolated, game.game_id)) == 20, what="20 rows")
            wait_for(lambda: group_caught_up(isolated), what="offsets committed")
        # worker stopped: rewind the consumer group to the start of every partition
        topic = isolated.topic(RAW_EVENTS.name)
        admin = AdminClient({"bootstrap.servers": isolated.kafka_bootstrap_servers})
        from confluent_kafka import ConsumerGroupTopicPartitions

        group = isolated.topic_prefix + APP_ID
        rewind = [TopicPartition(topic, p, 0) for p in range(RAW_EVENTS.partitions)]
        admin.alter_consumer_group_offsets([ConsumerGroupTopicPartitions(group, rewind)])[group].result()
        assert not group_caught_up(isolated)
        with running_worker(isolated, tmp_path, "worker-2"):
            wait_for(lambda: group_caught_up(isolated), what="the replay to be consumed and committed")
    assert len(stored_rows(isolated, game.game_id)) == 20


def test_undecodable_message_goes_to_the_dlq_and_does_not_block_its_partition(isolated, tmp_path):
    game = new_game(isolated)
    raw_topic = isolated.topic(RAW_EVENTS.name)
    garbage = b"\x00\x00\x00\x00\x02this is not avro"
    producer = Producer({"bootstrap.servers": isolated.kafka_bootstrap_servers, "acks": "all"})
    producer.produce(raw_topic, key=b"p1", value=garbage)  # key p1: same partition as p1's events below
    producer.flush(10)
    with running_ingest(isolated, tmp_path) as url, running_worker(isolated, tmp_path):
        assert post(url, game.api_key, events_for(["p1"], 3)).status_code == 200
        wait_for(lambda: len(stored_rows(isolated, game.game_id)) == 3, what="the good events behind the poison one")
    consumer = Consumer({
        "bootstrap.servers": isolated.kafka_bootstrap_servers, "group.id": f"dlq-{uuid.uuid4()}",
        "auto.offset.reset": "earliest",
    })
    consumer.subscribe([isolated.topic(DLQ.name)])
    message = wait_for(lambda: (m := consumer.poll(1.0)) is not None and m.error() is None and m, what="a DLQ record")
    consumer.close()
    record = AvroDeserializer(CatalogIds(), load_catalog().latest("DeadLetter")).decode(message.value())
    assert record["error_type"] == "undecodable"
    assert record["original"] == garbage
    assert record["source_topic"] == raw_topic and record["source_key"] == b"p1"
    assert "does not decode" in record["detail"]


def test_wrong_api_key_is_refused_and_nothing_lands(isolated, tmp_path):
    game = new_game(isolated)
    refused = events_for(["intruder"], 3)
    sentinel = events_for(["sentinel"], 1)
    with running_ingest(isolated, tmp_path) as url, running_worker(isolated, tmp_path):
        response = post(url, "gm_not-a-key", refused)
        assert response.status_code == 401
        assert "API key" in response.json()["error"]
        missing = httpx.post(f"{url}/v1/events", json={"events": refused})
        assert missing.status_code == 401
        # a good request sent after the refused ones: once it has landed and the group has caught
        # up, anything the refused requests had let through would have landed too
        assert post(url, game.api_key, sentinel).status_code == 200
        wait_for(lambda: len(stored_rows(isolated, game.game_id)) == 1, what="the sentinel event")
        wait_for(lambda: group_caught_up(isolated), what="the worker to commit everything produced")
    with db.connect(isolated) as conn:
        stored = {r[0] for r in conn.execute("SELECT event_id::text FROM player_events").fetchall()}
    assert stored == {sentinel[0]["event_id"]}
