"""Helpers shared by test modules (import them from here, never from another test file)."""

from __future__ import annotations

import time
import uuid

import httpx
import orjson
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

from gamemetrics.settings import Settings
from store import db
from store.games import create_game
from streams.app import APP_ID
from streams.topics import RAW_EVENTS


def new_key(settings: Settings) -> tuple[str, str]:
    """A new game in the store: (game_id, api_key)."""
    with db.connect(settings) as conn:
        game = create_game(conn, f"g-{uuid.uuid4().hex[:8]}")
    return game.game_id, game.api_key


def an_event(**overrides) -> dict:
    """A valid session_start event as a client sends it; ``overrides`` replace fields."""
    event = {
        "event_id": str(uuid.uuid4()),
        "event_type": "session_start",
        "player_id": "p-1",
        "ts": int(time.time() * 1000),
    }
    event.update(overrides)
    return event


def post(url: str, key: str, body, headers=None, **kwargs) -> httpx.Response:
    """POST /v1/events with ``body`` (a dict, or bytes as they are) and the API key."""
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return httpx.post(
        f"{url}/v1/events", content=content,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json", **(headers or {})},
        timeout=30, **kwargs,
    )


def group_caught_up(settings: Settings) -> bool:
    """True when the landing consumer group has committed the end of every raw partition."""
    topic = settings.topic(RAW_EVENTS.name)
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers})
    group = settings.topic_prefix + APP_ID
    future = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group]
    committed = {tp.partition: tp.offset for tp in future.result().topic_partitions if tp.topic == topic}
    probe = Consumer({"bootstrap.servers": settings.kafka_bootstrap_servers, "group.id": f"probe-{uuid.uuid4()}"})
    try:
        for partition in range(RAW_EVENTS.partitions):
            _, high = probe.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            if high > 0 and committed.get(partition, -1) < high:
                return False
    finally:
        probe.close()
    return True


def group_topics(settings: Settings, group: str) -> set[str] | None:
    """The topics assigned to the members of consumer group ``group`` (prefixed here), or None while
    it has no member with partitions."""
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers})
    name = settings.topic_prefix + group
    described = admin.describe_consumer_groups([name])[name].result()
    topics = {tp.topic for member in described.members for tp in member.assignment.topic_partitions}
    return topics or None
