"""Read a topic from offset 0 (a throw-away group, nothing committed), and land raw batches with the
worker's own pipeline, in process."""

from __future__ import annotations

import asyncio
import time
import uuid

from confluent_kafka import Consumer

from gamemetrics.settings import Settings
from processors.landing import LandingSteps, Message, Outcome
from processors.postgres_sink import PostgresSink
from processors.publisher import KafkaPublisher
from schemas.ids import schema_ids
from streams.producer import EventProducer


def read_topic(settings: Settings, name: str, idle_s: float = 3.0) -> list[Message]:
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap_servers, "group.id": f"t-{uuid.uuid4()}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([settings.topic(name)])
    out: list[Message] = []
    try:
        last = time.monotonic()
        while time.monotonic() - last < idle_s:
            m = consumer.poll(0.5)
            if m is None or m.error():
                continue
            last = time.monotonic()
            out.append(Message(m.topic(), m.partition(), m.offset(), m.key(), m.value()))
    finally:
        consumer.close()
    return out


def land(settings: Settings, messages: list[Message]) -> Outcome:
    async def go() -> Outcome:
        producer = EventProducer(settings.kafka_bootstrap_servers)
        sink = PostgresSink(settings)
        try:
            steps = LandingSteps(schema_ids(settings.schema_registry_url), sink, KafkaPublisher(settings, producer))
            return await steps.run(messages)
        finally:
            await sink.close()
            producer.close()

    return asyncio.run(go())
