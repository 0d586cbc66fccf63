"""The landing pipeline, built in one visible place.

    player.events.raw ──take up to N messages──▶ (1) decode ──▶ (2) validate ──▶ (3) dedup
        ──▶ [one PostgreSQL transaction: lock players · probe stored ids · read state
             ──▶ (4) enrich ──▶ (5) land (COPY + INSERT … RETURNING) feeding (6) the rollups in SQL
             ──▶ (7) publish player.events.processed + system.dlq, awaiting Kafka's acks ]
        ──▶ (8) commit the transaction ──▶ (9) release the messages: Faust may commit their offsets

Failures:
- undecodable message / invalid event: a typed DeadLetter on system.dlq (original bytes, source
  topic/partition/offset); the rest of the batch goes on;
- PostgreSQL or Kafka unavailable: the transaction rolls back, the partitions are paused, the
  same messages are retried with backoff until they land, then consumption resumes. Nothing is
  released, so nothing is committed;
- an unexpected error (a bug): the messages are retried one by one and the failing one becomes a
  ``processing_error`` DeadLetter, so one poison message never blocks its partition.
Publishing happens before the database commit: a crash in between replays the batch, which lands
nothing new (dedup) and publishes again; player.events.processed is at-least-once.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import faust
import structlog

from gamemetrics import metric_defs as m
from store.errors import StoreError
from gamemetrics.retry import EFFECTIVELY_FOREVER, RetryPolicy
from gamemetrics.settings import Settings
from store import db
from store.partitions import ensure_partitions
from processors.dead_letters import UNDECODABLE, dead_letter
from processors.decode import BatchDecoder
from processors.dedup import first_copies
from processors.enrich import enrich_batch
from processors.land import PostgresSink
from processors.notifications import register_notification_agents
from processors.notifications.settings import load_notification_settings
from processors.publish import processed_batch
from processors.settings import WorkerSettings
from processors.validate import validate
from schemas.catalog import load_catalog
from schemas.errors import WireFormatError
from schemas.ids import schema_ids
from schemas.wire import INSTALLED, AvroSerializer, PlainCodec, plain_codec
from streams.app import create_app, topic
from streams.errors import ProduceError
from streams.producer import EventProducer, send_acknowledged
from streams.topics import DLQ, GAME_ID_HEADER, PROCESSED_EVENTS, RAW_EVENTS

log = structlog.get_logger("processors.pipeline")

PROCESSOR_NAME = "landing"
PROCESSING_ERROR = "processing_error"
PARTITION_CHECK_INTERVAL_S = 3600.0


@dataclass(frozen=True)
class Message:
    """What the pipeline needs of a Kafka message (independent of Faust, for tests and benches)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes


@dataclass
class Outcome:
    messages: int = 0
    events: int = 0
    landed: int = 0
    duplicates: int = 0
    dead_letters: dict[str, int] = field(default_factory=dict)
    step_seconds: dict[str, float] = field(default_factory=dict)


class _Steps:
    """Times each step for the metrics and the benchmark."""

    def __init__(self, outcome: Outcome) -> None:
        self._outcome = outcome
        self._last = time.perf_counter()

    def done(self, step: str) -> None:
        now = time.perf_counter()
        self._outcome.step_seconds[step] = self._outcome.step_seconds.get(step, 0.0) + now - self._last
        self._last = now


class LandingPipeline:
    def __init__(self, settings: Settings, sink: PostgresSink, producer: EventProducer,
                 codec: PlainCodec = INSTALLED) -> None:
        ids = schema_ids(settings.schema_registry_url)
        self._sink = sink
        self._producer = producer
        self._decoder = BatchDecoder(ids, codec)
        self._processed_topic = settings.topic(PROCESSED_EVENTS.name)
        self._dlq_topic = settings.topic(DLQ.name)
        self._processed = AvroSerializer(
            ids, self._processed_topic, load_catalog().latest(PROCESSED_EVENTS.value_schema), logical=False,
            codec=codec,
        )
        self._dlq = AvroSerializer(ids, self._dlq_topic, load_catalog().latest(DLQ.value_schema))

    def _dead_letter(self, message: Message, error_type: str, detail: str, index: int | None = None,
                     event_id: str | None = None) -> tuple[bytes | None, bytes]:
        record = dead_letter(
            error_type, detail, topic=message.topic, partition=message.partition, offset=message.offset,
            key=message.key, original=message.value, processor=PROCESSOR_NAME, event_index=index, event_id=event_id,
        )
        log.warning("dead_letter", error_type=error_type, detail=detail, topic=message.topic,
                    partition=message.partition, offset=message.offset, event_id=event_id)
        return message.key, self._dlq.encode(record)

    async def run(self, messages: list[Message]) -> Outcome:
        """Steps 1 to 8 for a group of messages. Raises StoreError / ProduceError when a service is down."""
        outcome = Outcome(messages=len(messages))
        steps = _Steps(outcome)
        dead: list[tuple[bytes | None, bytes]] = []
        usd_per_unit = await self._sink.usd_per_unit()
        # (1) decode
        decoded: list[tuple[Message, dict[str, Any]]] = []
        for message in messages:
            try:
                decoded.append((message, self._decoder.decode(message.value)))
            except WireFormatError as exc:
                dead.append(self._dead_letter(message, UNDECODABLE, str(exc)))
                outcome.dead_letters[UNDECODABLE] = outcome.dead_letters.get(UNDECODABLE, 0) + 1
        steps.done("decode")
        # (2) validate, (3) dedup inside the group
        seen: set[str] = set()
        checked: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
        for message, batch in decoded:
            outcome.events += len(batch["events"])
            valid, invalid = validate(batch["events"], usd_per_unit)
            for bad in invalid:
                dead.append(self._dead_letter(message, bad.error_type, bad.detail, bad.index, bad.event_id))
                outcome.dead_letters[bad.error_type] = outcome.dead_letters.get(bad.error_type, 0) + 1
            checked.append((batch, first_copies(valid, seen)))
        steps.done("validate")
        candidates = [e for _, events in checked for e in events]
        async with self._sink.transaction() as tx:
            fresh_ids: set[Any] = set()
            if candidates:
                players = {(b["game_id"], e["player_id"]) for b, events in checked for e in events}
                await tx.lock_players(players)
                times = [e["event_time"] for e in candidates]
                stored = await tx.existing_event_ids([e["event_id"] for e in candidates], min(times), max(times))
                checked = [(b, [e for e in events if e["event_id"] not in stored]) for b, events in checked]
                state = await tx.state(  # the locked players: one set for both (a fully duplicate player costs a row read)
                    players,
                    {(b["game_id"], e["session_id"]) for b, events in checked for e in events if e["session_id"]},
                )
                steps.done("dedup")
                # (4) enrich
                enriched = [(b, enrich_batch(b, events, state, usd_per_unit)) for b, events in checked]
                steps.done("enrich")
                # (5) land and (6) roll up, in one statement: rollups from the inserted rows only
                fresh_ids = await tx.land([item for _, items in enriched for item in items])
                landed = [(b, [i for i in items if i.event["event_id"] in fresh_ids]) for b, items in enriched]
                steps.done("land")
                # (7) publish what landed, and the dead letters, before committing
                now = int(time.time() * 1000)
                processed = [
                    (b["player_id"].encode(), self._processed.encode(processed_batch(b, items, now)))
                    for b, items in landed if items
                ]
                if processed:
                    headers = [[(GAME_ID_HEADER, b["game_id"].encode())] for b, items in landed if items]
                    await self._producer.send_all(self._processed_topic, processed, headers)
            if dead:
                await self._producer.send_all(self._dlq_topic, dead)
            steps.done("publish")
        # (8) committed
        steps.done("commit")
        outcome.landed = len(fresh_ids)
        outcome.duplicates = len(candidates) - outcome.landed
        committed_at = time.time()
        for _, batch in decoded:
            m.RECEIVED_TO_COMMITTED_SECONDS.observe(committed_at - batch["received_at"] / 1000)
        log.debug(
            "landed", messages=outcome.messages, events=outcome.events, landed=outcome.landed,
            duplicates=outcome.duplicates, dead_letters=outcome.dead_letters,
            batch_ids=[str(b["batch_id"]) for _, b in decoded],
            offsets={f"{m_.topic}/{m_.partition}": m_.offset for m_ in messages},
        )
        return outcome

    async def run_resilient(
        self, messages: list[Message], pause: Callable[[], None], resume: Callable[[], None], retry: RetryPolicy
    ) -> Outcome:
        """``run`` until it succeeds: services down -> pause and retry; a bug -> isolate the poison message."""
        attempt = 0
        paused = False
        try:
            while True:
                try:
                    return await self.run(messages)
                except (StoreError, ProduceError) as exc:
                    if not paused:
                        pause()
                        paused = True
                    attempt += 1
                    delay = retry.delay_after(attempt)
                    m.PIPELINE_RETRIES.labels(type(exc).__name__).inc()
                    log.warning("landing_retry", reason=str(exc), retry_in_s=delay, messages=len(messages))
                    await asyncio.sleep(delay)
                except Exception as exc:  # a bug: never crash the worker, never drop good messages
                    if len(messages) == 1:
                        return await self._poison(messages[0], exc, pause, resume, retry)
                    log.error("landing_bug_isolating", error=repr(exc), messages=len(messages))
                    total = Outcome()
                    for message in messages:
                        one = await self.run_resilient([message], pause, resume, retry)
                        _merge(total, one)
                    return total
        finally:
            if paused:
                resume()

    async def _poison(self, message: Message, exc: Exception, pause: Callable[[], None], resume: Callable[[], None],
                      retry: RetryPolicy) -> Outcome:
        detail = f"{type(exc).__name__}: {exc} | {''.join(traceback.format_exception(exc)[-3:]).strip()[:1500]}"
        dead = [self._dead_letter(message, PROCESSING_ERROR, detail)]
        await send_acknowledged(self._producer, self._dlq_topic, dead, retry)
        return Outcome(messages=1, dead_letters={PROCESSING_ERROR: 1})


def _merge(total: Outcome, one: Outcome) -> None:
    total.messages += one.messages
    total.events += one.events
    total.landed += one.landed
    total.duplicates += one.duplicates
    for k, v in one.dead_letters.items():
        total.dead_letters[k] = total.dead_letters.get(k, 0) + v
    for k, v in one.step_seconds.items():
        total.step_seconds[k] = total.step_seconds.get(k, 0.0) + v


def record(outcome: Outcome) -> None:
    m.LANDED_EVENTS.inc(outcome.landed)
    m.DUPLICATE_EVENTS.inc(outcome.duplicates)
    m.TRANSACTION_MESSAGES.observe(outcome.messages)
    m.TRANSACTION_EVENTS.observe(outcome.events)
    for error_type, n in outcome.dead_letters.items():
        m.DLQ_RECORDS.labels(error_type).inc(n)
    for step, seconds in outcome.step_seconds.items():
        m.STEP_SECONDS.labels(step).inc(seconds)


def build_worker_app(settings: Settings, worker: WorkerSettings | None = None) -> faust.App:
    """The worker's Faust app: the landing agent, the notification agents, and the timers that keep them healthy."""
    worker = worker or WorkerSettings()
    app = create_app(settings)
    raw_topic = topic(app, settings, RAW_EVENTS)
    producer = EventProducer(settings.kafka_bootstrap_servers)
    sink = PostgresSink(settings, worker.rates_refresh_s)
    codec = plain_codec(settings.avro_codec)
    pipeline = LandingPipeline(settings, sink, producer, codec)
    retry = RetryPolicy(EFFECTIVELY_FOREVER, worker.retry_first_delay_s, worker.retry_max_delay_s)  # never gives up a batch
    log.info("worker_built", avro_codec=codec.name, topic=raw_topic.get_topic_name())

    def pause() -> None:
        app.consumer.pause_partitions(app.consumer.assignment())

    def resume() -> None:
        app.consumer.resume_partitions(app.consumer.assignment())

    @app.agent(raw_topic, name="land")
    async def land(stream: faust.StreamT) -> None:
        async for events in stream.take_events(worker.take_max_messages, worker.take_within_s):
            # Hold each message: take_events acks when the loop comes back, even after an error or
            # a cancellation; the extra reference keeps an unlanded batch's offsets uncommitted.
            for event in events:
                event.message.incref()
            messages = [
                Message(e.message.topic, e.message.partition, e.message.offset, e.message.key, e.message.value)
                for e in events
            ]
            outcome = await pipeline.run_resilient(messages, pause, resume, retry)
            record(outcome)
            for event in events:  # (9) release: the offsets may be committed now
                event.ack()

    @app.timer(PARTITION_CHECK_INTERVAL_S, on_leader=False)
    async def prepare_partitions() -> None:
        created = await asyncio.to_thread(_ensure_partitions, settings)
        if created:
            log.info("partitions_created", partitions=created)

    @app.timer(worker.lag_interval_s)
    async def measure_lag() -> None:
        for tp in app.consumer.assignment():
            if tp.topic != raw_topic.get_topic_name():
                continue
            end = app.consumer.highwater(tp)
            committed = app.monitor.tp_committed_offsets.get(tp)
            if end is not None and committed is not None:
                m.CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(max(0, end - committed))

    # notifications: processed events -> rules -> notifications topic -> channels (same producer)
    register_notification_agents(app, settings, producer, load_notification_settings())
    return app


def _ensure_partitions(settings: Settings) -> list[str]:
    with db.connect(settings, autocommit=True) as conn:
        return ensure_partitions(conn)
