"""The landing worker's Faust wiring: the one place where the pipeline is put together.

    source     player.events.raw, Faust consumer (streams.app)              ─┐
    batch      stream.take_events(take_max_messages, take_within_s)          │ the agent below
    transform  LandingSteps: decode · validate · dedup · enrich (pure steps) │ reads in this order
    sink       PostgresSink (one transaction) + KafkaPublisher (processed,   │
               DLQ), under the FailurePolicy (backpressure, poison, limit)    │
    commit     ack the messages: Faust commits their offsets after the write ─┘

Beside it: the notification agents (same app and producer) unless they run in their own process
(``gamemetrics worker --no-notifications`` + ``gamemetrics notifications worker``), an hourly
timer that creates the time partitions ahead and prunes old dedup keys, and a lag gauge.

Tracing (``tracing`` given): each message's ``traceparent`` header travels with it into
``processors.landing``, which spans the transaction; without it no header is read.
"""

from __future__ import annotations

import asyncio
import os
import sys

import faust
import structlog

from gamemetrics import metric_defs as m
from gamemetrics.retry import EFFECTIVELY_FOREVER, RetryPolicy
from gamemetrics.settings import Settings
from gamemetrics.tracing import Tracing, trace_parent
from processors.errors import DeadLetterLimitExceeded
from processors.postgres_sink import PostgresSink
from processors.landing import LandingSteps, Message, record
from processors.notifications import register_notification_agents
from processors.notifications.settings import NotificationSettings
from processors.publisher import KafkaPublisher
from processors.resilience import DeadLetterLimit, FailurePolicy
from processors.settings import WorkerSettings
from schemas.ids import schema_ids
from schemas.wire import plain_codec
from store import db
from store.partitions import ensure_partitions, prune_event_keys
from streams.app import ConsumerPolicy, create_app, topic
from streams.producer import EventProducer
from streams.topics import RAW_EVENTS

log = structlog.get_logger("processors.worker")

PARTITION_CHECK_INTERVAL_S = 3600.0
STOP_GRACE_S = 10.0
"""How long a worker stopped by the dead-letter limit may take to stop gracefully before it exits."""
EX_SOFTWARE = 70


def _exit_now(reason: BaseException) -> None:
    log.error("worker_stop_forced", grace_s=STOP_GRACE_S, reason=str(reason)[:500])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(EX_SOFTWARE)


def build_worker_app(settings: Settings, worker: WorkerSettings, notify: NotificationSettings | None,
                     tracing: Tracing | None = None) -> faust.App:
    """The worker's Faust app; every setting is passed in (read once by the command).

    ``notify`` None: landing only, the notification agents run elsewhere (``gamemetrics notifications worker``)."""
    app = create_app(settings, ConsumerPolicy(max_poll_records=worker.max_poll_records,
                                              max_fetch_bytes=worker.fetch_max_bytes))
    raw_topic = topic(app, settings, RAW_EVENTS)                                      # source
    producer = EventProducer(settings.kafka_bootstrap_servers, security=settings.kafka_security())
    codec = plain_codec(settings.avro_codec)
    steps = LandingSteps(schema_ids(settings.schema_registry_url),                    # transform
                         PostgresSink(settings, worker.rates_refresh_s, worker.dedup_keep_days),  # sink
                         KafkaPublisher(settings, producer, codec), codec, tracing)
    policy = FailurePolicy(
        steps,
        RetryPolicy(EFFECTIVELY_FOREVER, worker.retry_first_delay_s, worker.retry_max_delay_s),  # never gives up
        DeadLetterLimit(worker.max_processing_error_share, worker.processing_error_window),
    )
    log.info("worker_built", avro_codec=codec.name, topic=raw_topic.get_topic_name())

    @app.agent(raw_topic, name="land")
    async def land(stream: faust.StreamT) -> None:
        async for events in stream.take_events(worker.take_max_messages, worker.take_within_s):  # batch
            # (1) hold each message: take_events acks when the loop comes back, even after an error
            # or a cancellation; the extra reference keeps an unlanded group's offsets uncommitted
            for event in events:
                event.message.incref()
            messages = [
                Message(e.message.topic, e.message.partition, e.message.offset, e.message.key, e.message.value)
                for e in events
            ] if tracing is None else [
                Message(e.message.topic, e.message.partition, e.message.offset, e.message.key, e.message.value,
                        trace_parent(e.message.headers))
                for e in events
            ]
            # (2) land: steps 1-8 of processors.landing, until written or dead-lettered
            try:
                outcome = await policy.land(messages)
            except DeadLetterLimitExceeded as exc:
                # (2b) a bad deploy: stop the worker; the held group is never released, so not committed.
                # Faust's graceful stop can wait forever on the held (unacked) messages: bound it.
                asyncio.get_running_loop().call_later(STOP_GRACE_S, _exit_now, exc)
                await app.crash(exc)
                return
            record(outcome)
            # (3) commit: release the messages; Faust commits their offsets after this write
            for event in events:
                event.ack()

    @app.timer(PARTITION_CHECK_INTERVAL_S, on_leader=False)
    async def prepare_partitions() -> None:
        created, pruned = await asyncio.to_thread(_maintain_partitions, settings, worker.dedup_keep_days)
        if created or pruned:
            log.info("partitions_maintained", created=created, dropped=pruned)

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
    if notify is not None:
        register_notification_agents(app, settings, producer, notify)
    return app


def _maintain_partitions(settings: Settings, dedup_keep_days: int) -> tuple[list[str], list[str]]:
    with db.connect(settings, autocommit=True) as conn:
        return ensure_partitions(conn), prune_event_keys(conn, dedup_keep_days)
