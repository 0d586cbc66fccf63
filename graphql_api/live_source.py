"""The live consumer: one per API process, feeding :class:`graphql_api.live.LiveHub`.

It reads ``player.events.processed`` (and counts ``system.dlq`` by error type for the
``pipeline`` query) with a confluent-kafka consumer on a thread of its own, and hands each
polled group of records to the hub on the event loop; subscribers are served from memory, so
200 subscribers cost one consumer, not 200.

Partitions are assigned, not subscribed: the group id is this process's own and nothing is
committed. At start each processed partition begins at the offset of ``now - live_warmup_s``
(the last 5 minutes are read back so ``liveMetrics`` is right at once; the end of the partition
when nothing is that recent); the DLQ is read from its beginning (it is small: 30 days).
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass

import structlog
from confluent_kafka import (
    OFFSET_BEGINNING,
    OFFSET_END,
    TIMESTAMP_NOT_AVAILABLE,
    Consumer,
    KafkaException,
    Message,
    TopicPartition,
)

from gamemetrics import metric_defs as m
from gamemetrics.settings import Settings
from graphql_api.live import LiveHub, LiveRecord
from graphql_api.settings import GraphQLSettings
from graphql_api.types import LiveEvent
from schemas.catalog import load_catalog
from schemas.errors import WireFormatError
from schemas.ids import schema_ids
from schemas.wire import AvroDeserializer
from streams.topics import DLQ, PROCESSED_EVENTS

log = structlog.get_logger("graphql_api.live")


@dataclass(frozen=True)
class ConsumePolicy:
    max_messages: int = 500
    timeout_s: float = 0.2
    metadata_retry_s: float = 2.0
    sweep_every_s: float = 10.0


POLICY = ConsumePolicy()


def live_record(batch: dict, ts_ms: int, replayed: bool = False) -> LiveRecord:
    """A decoded ProcessedEventBatch as the hub's record. Pure."""
    processed_at = batch["processed_at"]
    events = [
        LiveEvent(
            event_id=str(item["event"]["event_id"]),
            event_type=item["event"]["event_type"],
            player_id=item["event"]["player_id"],
            event_time=item["event"]["event_time"],
            processed_at=processed_at,
            session_id=item["event"]["session_id"],
            platform=item["platform"],  # as landed (ProcessedEventBatch v3; null from older writers)
            app_version=item["app_version"],
            country=item["event"]["country"],
            properties=dict(item["event"]["properties"]),
            revenue_usd=item["revenue_usd"],
            is_new_player=item["is_new_player"],
            session_seq=item["session_seq"],
            delay_ms=item["delay_ms"],
        )
        for item in batch["events"]
    ]
    return LiveRecord(batch["game_id"], batch["player_id"], ts_ms, events, replayed)


class KafkaLiveSource:
    def __init__(self, settings: Settings, gql: GraphQLSettings, hub: LiveHub, policy: ConsumePolicy = POLICY) -> None:
        ids = schema_ids(settings.schema_registry_url)
        catalog = load_catalog()
        self._settings = settings
        self._gql = gql
        self._hub = hub
        self._policy = policy
        self._processed_topic = settings.topic(PROCESSED_EVENTS.name)
        self._dlq_topic = settings.topic(DLQ.name)
        self._batches = AvroDeserializer(ids, catalog.latest(PROCESSED_EVENTS.value_schema))
        self._dead_letters = AvroDeserializer(ids, catalog.latest(DLQ.value_schema))
        self._group_id = (
            f"{settings.topic_prefix}gamemetrics-graphql-live-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_sweep = 0.0

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name="graphql-live-consumer", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 30)

    # -- the consumer thread ---------------------------------------------------------------

    def _partitions(self, consumer: Consumer, topic: str) -> list[int]:
        metadata = consumer.list_topics(topic, timeout=self._gql.kafka_timeout_s).topics.get(topic)
        if metadata is None or metadata.error is not None or not metadata.partitions:
            return []
        return sorted(metadata.partitions)

    def _assign(self, consumer: Consumer) -> dict[int, int] | None:
        """Assigns the partitions; returns the end offsets to reach before ``caught_up`` (None: retry later)."""
        processed = self._partitions(consumer, self._processed_topic)
        if not processed:
            return None
        since_ms = int((time.time() - self._gql.live_warmup_s) * 1000)
        starts = consumer.offsets_for_times(
            [TopicPartition(self._processed_topic, p, since_ms) for p in processed], timeout=self._gql.kafka_timeout_s
        )
        ends = {p: consumer.get_watermark_offsets(TopicPartition(self._processed_topic, p),
                                                  timeout=self._gql.kafka_timeout_s)[1] for p in processed}
        assignment = [TopicPartition(self._processed_topic, tp.partition, tp.offset if tp.offset >= 0 else OFFSET_END)
                      for tp in starts]
        assignment += [TopicPartition(self._dlq_topic, p, OFFSET_BEGINNING) for p in self._partitions(consumer, self._dlq_topic)]
        self._loop.call_soon_threadsafe(self._hub.reset)  # type: ignore[union-attr]  # before anything is re-read
        consumer.assign(assignment)
        pending = {tp.partition: ends[tp.partition] for tp in starts if 0 <= tp.offset < ends[tp.partition]}
        log.info("live_consumer_assigned", topic=self._processed_topic, partitions=len(processed),
                 replaying_partitions=len(pending), warmup_s=self._gql.live_warmup_s, group=self._group_id)
        return pending

    def _run(self) -> None:
        """Consume until stopped; a crash is logged and the consumer rebuilt (queries never depend on it)."""
        while not self._stop.is_set():
            try:
                self._consume()
            except Exception:
                log.exception("live_consumer_crashed")
                self._hub_caught_up(False)
                self._stop.wait(self._policy.metadata_retry_s)

    def _hub_caught_up(self, value: bool) -> None:
        self._loop.call_soon_threadsafe(self._deliver, [], [], value)  # type: ignore[union-attr]

    def _consume(self) -> None:
        consumer = Consumer({
            "bootstrap.servers": self._settings.kafka_bootstrap_servers,
            "group.id": self._group_id,
            "client.id": "gamemetrics-graphql-live",
            "enable.auto.commit": False,
            "auto.offset.reset": "latest",
        })
        try:
            pending = None
            while pending is None and not self._stop.is_set():
                try:
                    pending = self._assign(consumer)
                except KafkaException as exc:
                    log.warning("live_consumer_assign_failed", error=str(exc))
                if pending is None:
                    log.info("live_consumer_waiting_for_topic", topic=self._processed_topic)
                    self._stop.wait(self._policy.metadata_retry_s)
            while not self._stop.is_set():
                try:
                    messages = consumer.consume(self._policy.max_messages, self._policy.timeout_s)
                except KafkaException as exc:
                    log.warning("live_consumer_error", error=str(exc))
                    self._stop.wait(self._policy.metadata_retry_s)
                    continue
                records, dead = self._decode(messages, pending or {})
                if pending:
                    positions = consumer.position([TopicPartition(self._processed_topic, p) for p in pending])
                    for tp in positions:
                        if tp.offset >= pending[tp.partition]:
                            del pending[tp.partition]
                caught_up = pending is not None and not pending
                if records or dead or caught_up != self._hub.caught_up:
                    self._loop.call_soon_threadsafe(self._deliver, records, dead, caught_up)  # type: ignore[union-attr]
        finally:
            consumer.close()

    def _decode(self, messages: list[Message], pending: dict[int, int]) -> tuple[list[LiveRecord], list[str]]:
        """Records and dead-letter types; records before ``pending``'s end offsets are the warm-up replay."""
        records: list[LiveRecord] = []
        dead: list[str] = []
        for message in messages:
            if message.error() is not None:
                log.warning("live_consumer_message_error", error=str(message.error()))
                continue
            try:
                if message.topic() == self._dlq_topic:
                    dead.append(self._dead_letters.decode(message.value())["error_type"])
                    continue
                batch = self._batches.decode(message.value())
            except WireFormatError as exc:
                log.warning("live_consumer_undecodable", topic=message.topic(), partition=message.partition(),
                            offset=message.offset(), error=str(exc))
                continue
            kind, ts_ms = message.timestamp()
            if kind == TIMESTAMP_NOT_AVAILABLE:
                ts_ms = int(batch["processed_at"].timestamp() * 1000)
            replayed = message.offset() < pending.get(message.partition(), -1)
            records.append(live_record(batch, ts_ms, replayed))
        m.GRAPHQL_LIVE_MESSAGES.inc(len(records))
        return records, dead

    # -- on the event loop -----------------------------------------------------------------

    def _deliver(self, records: list[LiveRecord], dead: list[str], caught_up: bool) -> None:
        self._hub.publish(records)
        if dead:
            self._hub.count_dead_letters(dead)
        self._hub.caught_up = caught_up
        now = time.time()
        for record in records:
            if not record.replayed:
                m.GRAPHQL_LIVE_DELAY_SECONDS.observe(max(0.0, now - record.ts_ms / 1000))
        if now - self._last_sweep > self._policy.sweep_every_s:
            self._hub.sweep()
            self._last_sweep = now
