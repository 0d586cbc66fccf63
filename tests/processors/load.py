"""Produce a realistic load straight into player.events.raw (no HTTP), with client retries."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from confluent_kafka import Producer

from gamemetrics.settings import Settings
from operations.simulate import Simulator
from ingest.batching import group_by_player
from ingest.validation import validate_batch
from schemas.catalog import load_catalog
from schemas.ids import schema_ids
from schemas.wire import AvroSerializer
from streams.topics import RAW_EVENTS


@dataclass
class Load:
    event_ids: set[str] = field(default_factory=set)
    messages: int = 0
    retried_events: int = 0


def produce_load(settings: Settings, game_id: str, requests: int, events_per_request: int = 20,
                 retry_fraction: float = 0.05, seed: int = 1) -> Load:
    """``requests`` simulated client requests; a fraction is sent twice with a new sent_at (a client retry)."""
    topic = settings.topic(RAW_EVENTS.name)
    serializer = AvroSerializer(schema_ids(settings.schema_registry_url), topic, load_catalog().latest("EventBatch"))
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap_servers, "acks": "all",
                         "enable.idempotence": True, "linger.ms": 5})
    sim = Simulator(players=300, seed=seed)
    rng = random.Random(seed)
    load = Load()
    for _ in range(requests):
        now = int(time.time() * 1000)
        raw = sim.next_events(events_per_request, now)
        sends = [now]
        if rng.random() < retry_fraction:
            sends.append(now + rng.randint(500, 3000))  # the retry leaves later: another skew, another event time
            load.retried_events += len(raw)
        for sent_at in sends:
            received = sent_at + 40
            accepted, rejected = validate_batch(raw, received, sent_at)
            assert not rejected, rejected
            for key, batch in group_by_player(accepted, game_id, received, sent_at, None):
                producer.produce(topic, key=key, value=serializer.encode(batch))
                load.messages += 1
            producer.poll(0)
        load.event_ids.update(e["event_id"] for e in raw)
    producer.flush(30)
    return load
