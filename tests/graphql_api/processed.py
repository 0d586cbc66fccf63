"""Publishing what a landing worker publishes: ProcessedEventBatch messages (and dead letters)."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from confluent_kafka import Producer

from gamemetrics.settings import Settings
from processors.dead_letters import dead_letter
from processors.enrich import normalize_app_version, normalize_platform
from schemas.catalog import load_catalog
from schemas.ids import schema_ids
from schemas.wire import AvroSerializer
from streams.topics import DLQ, PROCESSED_EVENTS


def processed_batch(game_id: str, player_id: str, events: list[tuple[str, dict, float | None]],
                    platform: str = "iPhone", new_player: bool = False) -> dict:
    """One player's landed events: (event_type, properties, revenue_usd) each."""
    now = datetime.now(timezone.utc)
    return {
        "batch_id": str(uuid.uuid4()), "game_id": game_id, "player_id": player_id, "received_at": now,
        "processed_at": now,
        "events": [
            {
                "event": {
                    "event_id": str(uuid.uuid4()), "event_type": kind, "player_id": player_id, "ts": now, "event_time": now,
                    "session_id": f"s-{player_id}", "platform": platform, "app_version": "v2.3.1-beta", "country": "FI",
                    "properties": props,
                },
                "is_new_player": new_player and i == 0, "session_seq": i + 1, "revenue_usd": revenue,
                "player_lifetime_revenue_usd": revenue, "delay_ms": 120,
                "platform": normalize_platform(platform), "app_version": normalize_app_version("v2.3.1-beta"),
            }
            for i, (kind, props, revenue) in enumerate(events)
        ],
    }


def publish(settings: Settings, batches: list[dict]) -> None:
    topic = settings.topic(PROCESSED_EVENTS.name)
    serializer = AvroSerializer(schema_ids(settings.schema_registry_url), topic, load_catalog().latest(PROCESSED_EVENTS.value_schema))
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap_servers, "acks": "all", "linger.ms": 0})
    for batch in batches:
        producer.produce(topic, key=batch["player_id"].encode(), value=serializer.encode(batch))
    if producer.flush(15):
        raise RuntimeError("Kafka did not acknowledge the processed batches")


def publish_dead_letter(settings: Settings, error_type: str) -> None:
    topic = settings.topic(DLQ.name)
    serializer = AvroSerializer(schema_ids(settings.schema_registry_url), topic, load_catalog().latest(DLQ.value_schema))
    record = dead_letter(error_type, "events[0].properties.currency: XYZ is not in currency_rates", topic="raw",
                         partition=0, offset=1, key=b"p1", original=b"...", processor="test")
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap_servers, "acks": "all"})
    producer.produce(topic, value=serializer.encode(record))
    if producer.flush(15):
        raise RuntimeError("Kafka did not acknowledge the dead letter")
