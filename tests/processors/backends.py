"""The landing contract's backends: the in-memory seam and the real PostgreSQL + Kafka.

Each backend builds a ``LandingSteps`` on its sink and publisher and reads back what a user would
see: the stored rows, the processed batches, the dead letters. ``tests/processors/test_landing.py``
runs one suite of tests on each (the way getsentry/arroyo's tests/backends/mixins.py does).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer

from gamemetrics.settings import Settings
from processors.dlq_admin import read_dead_letters
from processors.landing import LandingSteps, Message
from processors.memory import InMemoryPublisher, InMemorySink
from processors.postgres_sink import PostgresSink
from processors.publisher import KafkaPublisher
from schemas.catalog import load_catalog
from schemas.ids import CatalogIds, schema_ids
from schemas.wire import AvroDeserializer, AvroSerializer
from store import db
from streams.producer import EventProducer, ProducerConfig
from streams.topics import PROCESSED_EVENTS, RAW_EVENTS

NOW = int(time.time() * 1000)
DAY_MS = 86_400_000
_RAW = AvroSerializer(CatalogIds(), "raw", load_catalog().latest(RAW_EVENTS.value_schema), logical=False)


def event(event_type: str = "session_start", player: str = "p1", at: int = NOW, skew_ms: int = 0, **props) -> dict:
    """An event as the ingest writes it: ``event_time`` is ``ts`` corrected by the request's skew."""
    return {"event_id": str(uuid.uuid4()), "event_type": event_type, "player_id": player, "ts": at,
            "event_time": at + skew_ms, "session_id": f"s-{player}", "platform": "iPhone",
            "app_version": "v2.3.1-beta", "country": "DE", "properties": props}


def retried(original: dict, skew_ms: int) -> dict:
    """The same event sent again after the device clock was corrected: same id and ts, another event_time."""
    return dict(original, event_time=original["ts"] + skew_ms)


def messages(*batches: list[dict], game: str = "g1", first_offset: int = 0) -> list[Message]:
    """One raw Kafka message per list of events (one player's events each)."""
    out = []
    for i, events in enumerate(batches):
        batch = {"batch_id": str(uuid.uuid4()), "game_id": game, "player_id": events[0]["player_id"],
                 "received_at": max(e["event_time"] for e in events) + 40, "sent_at": None, "client_ip_hash": None,
                 "events": events}
        out.append(Message("raw", 0, first_offset + i, events[0]["player_id"].encode(), _RAW.encode(batch)))
    return out


@dataclass
class Stored:
    event_id: str
    platform: str | None
    app_version: str | None
    session_seq: int | None
    is_new_player: bool


class MemoryBackend:
    name = "memory"

    def __init__(self) -> None:
        self.sink = InMemorySink()
        self.publisher = InMemoryPublisher()
        self.steps = LandingSteps(CatalogIds(), self.sink, self.publisher)

    def stored(self) -> dict[str, Stored]:
        return {r.event["event_id"]: Stored(r.event["event_id"], r.platform, r.app_version, r.session_seq, r.is_new_player)
                for r in self.sink.rows()}

    def processed(self, expect: int) -> list[dict[str, Any]]:
        return list(self.publisher.processed_batches)

    def dead_letters(self, expect: int) -> list[dict[str, Any]]:
        return [record for _, record in self.publisher.dead_letter_records]

    def store_down(self) -> None:
        self.sink.unavailable = True

    def store_up(self) -> None:
        self.sink.unavailable = False

    def broker_down(self) -> None:
        self.publisher.unavailable = True

    def broker_up(self) -> None:
        self.publisher.unavailable = False

    async def close(self) -> None:
        pass


class RealBackend:
    """PostgreSQL (the test's schema) and Kafka (the test's topics), read back as a user would."""

    name = "postgres+kafka"

    def __init__(self, settings: Settings, dead_port: int) -> None:
        self.settings = settings
        self._dead = settings.model_copy(update={"database_url": f"postgresql://gamemetrics@127.0.0.1:{dead_port}/x",
                                                 "kafka_bootstrap_servers": f"127.0.0.1:{dead_port}"})
        self._ids = schema_ids(settings.schema_registry_url)
        self._producer = EventProducer(settings.kafka_bootstrap_servers)
        self._dead_producer: EventProducer | None = None
        self.sink = PostgresSink(settings)
        self._good_sink = self.sink
        self.publisher = KafkaPublisher(settings, self._producer)
        self._good_publisher = self.publisher
        self.steps = LandingSteps(self._ids, self.sink, self.publisher)

    def _rebuild(self) -> None:
        self.steps = LandingSteps(self._ids, self.sink, self.publisher)

    def stored(self) -> dict[str, Stored]:
        with db.connect(self.settings) as conn:
            rows = conn.execute("SELECT event_id::text, platform, app_version, session_seq, is_new_player "
                                "FROM player_events").fetchall()
        return {r[0]: Stored(*r) for r in rows}

    def processed(self, expect: int) -> list[dict[str, Any]]:
        reader = AvroDeserializer(self._ids, load_catalog().latest(PROCESSED_EVENTS.value_schema), logical=False)
        consumer = Consumer({"bootstrap.servers": self.settings.kafka_bootstrap_servers,
                             "group.id": f"contract-{uuid.uuid4()}", "auto.offset.reset": "earliest"})
        consumer.subscribe([self.settings.topic(PROCESSED_EVENTS.name)])
        batches: list[dict[str, Any]] = []
        try:
            deadline = time.monotonic() + 20
            idle_since = time.monotonic()
            # read until the expected count is there and nothing more arrives for a second
            while time.monotonic() < deadline and (len(batches) < expect or time.monotonic() - idle_since < 1.0):
                message = consumer.poll(0.2)
                if message is None or message.error():
                    continue
                idle_since = time.monotonic()
                batches.append(reader.decode(message.value()))
        finally:
            consumer.close()
        return batches

    def dead_letters(self, expect: int) -> list[dict[str, Any]]:
        deadline = time.monotonic() + 20
        while True:
            records = [r.record for r in read_dead_letters(self.settings, idle_end_s=1.0)]
            if len(records) >= expect or time.monotonic() > deadline:
                return records

    def store_down(self) -> None:
        self.sink = PostgresSink(self._dead)
        self._rebuild()

    def store_up(self) -> None:
        self.sink = self._good_sink
        self._rebuild()

    def broker_down(self) -> None:
        self._dead_producer = EventProducer(self._dead.kafka_bootstrap_servers, ProducerConfig(delivery_timeout_ms=1500))
        self.publisher = KafkaPublisher(self.settings, self._dead_producer)
        self._rebuild()

    def broker_up(self) -> None:
        self.publisher = self._good_publisher
        self._rebuild()

    async def close(self) -> None:
        await self._good_sink.close()
        self._producer.close()
        if self._dead_producer is not None:
            self._dead_producer.close(timeout_s=0.1)
