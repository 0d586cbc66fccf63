"""The two notification agents, built in one visible place.

    player.events.processed --(0) a rule for the game (game_id header)? else skip, undecoded
        --(1) decode--(2) rules (pure)--(3) produce Notifications, acked--(4) ack
          \\-- undecodable --> system.dlq
    notifications --(1) decode--(2) deliver: skip if delivered, send with retries, record--(3) ack
                     \\-- undecodable, permanent error, retries spent --> system.dlq

(3)/(4): Faust acknowledges a message when the agent asks for the next one, i.e. after the
notifications were acknowledged by Kafka (rules) or the outcome was recorded in PostgreSQL
(delivery). A crash before that replays the message; the notification ids are deterministic and
delivery is idempotent on them, so a replay delivers nothing twice.
"""

from __future__ import annotations

from datetime import datetime, timezone

import faust
import httpx
import structlog
from faust.types import Message

from gamemetrics import metric_defs as m
from gamemetrics.settings import Settings
from processors.dead_letters import UNDECODABLE, dead_letter
from processors.notifications.channels import build_channels
from processors.notifications.delivery import PROCESSOR_NAME as DELIVERY_PROCESSOR
from processors.notifications.delivery import DeadLetterSink, Deliverer, ErasedCheck, Origin
from processors.notifications.delivery_log import PostgresDeliveryLog
from processors.notifications.model import Notification
from processors.notifications.rules import may_fire, notifications_for_batch
from processors.notifications.rules_store import RuleCache, fetch_enabled_rules
from processors.notifications.settings import NotificationSettings
from processors.notifications.sinks import KafkaDeadLetters, KafkaNotifications
from schemas.errors import WireFormatError
from store.connections import WaitingConnection
from store.privacy import PlayerHasher
from store.tombstones import erased
from schemas.ids import schema_ids
from streams.app import topic
from streams.codecs import codec_for
from streams.producer import EventProducer
from streams.topics import DLQ, NOTIFICATIONS, PROCESSED_EVENTS

log = structlog.get_logger("processors.notifications")

RULES_AGENT = "notifications-rules"
DELIVERY_AGENT = "notifications-delivery"
RULES_PROCESSOR = "notifications.rules"  # the ``processor`` of their dead letters


async def _undecodable(sink: DeadLetterSink, message: Message, error: Exception, processor: str) -> None:
    record = dead_letter(UNDECODABLE, str(error), topic=message.topic, partition=message.partition,
                         offset=message.offset, key=message.key, original=message.value, processor=processor)
    await sink.send(message.key, record)
    m.DLQ_RECORDS.labels(UNDECODABLE).inc()
    log.error("dead_letter", error_type=UNDECODABLE, detail=str(error), processor=processor, topic=message.topic,
              partition=message.partition, offset=message.offset)


def store_erased_check(store: WaitingConnection, hasher: PlayerHasher) -> ErasedCheck:
    """The delivery step's tombstone check (``store.tombstones.erased``), waiting while the store is down."""

    async def check(game_id: str, player_id: str, made_at_ms: int) -> bool:
        found = await store.run("checking tombstones", lambda conn: erased(conn, hasher, [(game_id, player_id, made_at_ms)]))
        return bool(found)

    return check


def register(app: faust.App, settings: Settings, producer: EventProducer, notify: NotificationSettings) -> None:
    """Declare the rules agent and the delivery agent on ``app``."""
    ids = schema_ids(settings.schema_registry_url)
    batch_codec = codec_for(settings, PROCESSED_EVENTS, ids)
    notification_codec = codec_for(settings, NOTIFICATIONS, ids)
    outbox = KafkaNotifications(producer, settings.topic(NOTIFICATIONS.name), notification_codec)
    dead_letters = KafkaDeadLetters(producer, settings.topic(DLQ.name), ids)

    @app.agent(topic(app, settings, PROCESSED_EVENTS), name=RULES_AGENT)
    async def notification_rules(stream: faust.StreamT) -> None:
        store = WaitingConnection(settings)
        rules = RuleCache(lambda: store.run("loading notification_rules", fetch_enabled_rules), notify.rules_refresh_s)
        try:
            async for event in stream.events():
                message = event.message
                current = await rules.current()
                if not may_fire(current, message.headers):
                    m.NOTIFICATION_BATCHES_SKIPPED.inc()
                    continue
                # (1) decode
                try:
                    batch = batch_codec.loads(message.value)
                except WireFormatError as exc:
                    await _undecodable(dead_letters, message, exc, RULES_PROCESSOR)
                    continue
                # (2) rules: pure, the same notification ids on every replay
                made = notifications_for_batch(current, batch, datetime.now(timezone.utc))
                # (3) produce and wait for Kafka's acks; (4) Faust acks this message when the loop moves on
                await outbox.send(made)
                for notification in made:
                    m.NOTIFICATIONS_PRODUCED.labels(notification.channel).inc()
                    log.info("notification_created", notification_id=str(notification.notification_id),
                             source_event_id=notification.source_event_id, rule_id=notification.rule_id,
                             channel=notification.channel, game_id=notification.game_id,
                             batch_id=str(batch["batch_id"]))
        finally:
            await store.close()

    @app.agent(topic(app, settings, NOTIFICATIONS), name=DELIVERY_AGENT)
    async def notification_delivery(stream: faust.StreamT) -> None:
        store = WaitingConnection(settings)
        try:
            async with httpx.AsyncClient(timeout=notify.send_timeout_s) as client:
                deliverer = Deliverer(build_channels(notify, client), PostgresDeliveryLog(store), dead_letters,
                                      notify.retry_policy(), erased=store_erased_check(store, PlayerHasher.of(settings)))
                async for event in stream.events():
                    message = event.message
                    # (1) decode
                    try:
                        notification = Notification.from_record(notification_codec.loads(message.value))
                    except WireFormatError as exc:
                        await _undecodable(dead_letters, message, exc, DELIVERY_PROCESSOR)
                        continue
                    # (2) deliver: skipped if delivered, retried, recorded (or dead-lettered) before (3) the ack
                    origin = Origin(message.topic, message.partition, message.offset, message.key, message.value)
                    await deliverer.deliver(notification, origin)
        finally:
            await store.close()
