"""Step 3 of notifications, delivery: one notification -> its channel, retried, idempotent, or the DLQ.

    notification --(0) player erased (store.tombstones)? drop, write nothing
                 --(1) already delivered? skip--(2) send, retried with exponential backoff
                 --(3) record 'delivered'                       then Faust acks the offset
                 \\-- permanent error or attempts spent --(4) system.dlq (DeadLetter
                      "delivery_failed", original = the Notification bytes) --(5) record 'failed'

Idempotency rests on ``notification_deliveries`` (``delivery_log``): a delivered notification is
skipped, so a Kafka replay or the same batch published twice delivers once. A crash between (2)
and (3) sends again on replay: delivery is at least once, and every channel passes the
notification id along (Idempotency-Key, Message-ID) so the receiver can drop the copy.

Retries (``gamemetrics.retry.RetryPolicy``: exponential backoff) wait in line: a failing endpoint holds its
partition for at most ``RetryPolicy.longest_wait_s`` per notification, then it goes to the DLQ.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Any, Protocol

import structlog

from gamemetrics import metric_defs as m
from processors.dead_letters import dead_letter
from processors.notifications.channels import Channel
from processors.notifications.delivery_log import DeliveryLog, DeliveryStatus
from processors.notifications.errors import DeliveryError, PermanentDeliveryError, RetryableDeliveryError
from processors.notifications.model import CHANNELS, Notification
from gamemetrics.retry import RetryPolicy

log = structlog.get_logger("processors.notifications.delivery")

PROCESSOR_NAME = "notifications.delivery"
DELIVERY_FAILED = "delivery_failed"


@dataclass(frozen=True)
class Origin:
    """Where a notification message was read: what its dead letter points back to."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes


class DeadLetterSink(Protocol):
    async def send(self, key: bytes | None, record: dict[str, Any]) -> None:
        """Write one DeadLetter record to system.dlq and return once it is acknowledged."""


class Outcome(str, Enum):
    ERASED = "erased"
    DELIVERED = "delivered"
    ALREADY_DELIVERED = "already_delivered"
    FAILED = "failed"


@dataclass(frozen=True)
class Attempts:
    count: int
    delivered: bool
    last_error: DeliveryError | None


Sleep = Callable[[float], Awaitable[None]]
ErasedCheck = Callable[[str, str, int], Awaitable[bool]]
"""(game_id, player_id, epoch ms the notification was made) -> True when the player's tombstone buries it
(``store.tombstones.erased``; ``agents.store_erased_check`` binds it to the store)."""


async def send_with_retries(
    channel: Channel, notification: Notification, policy: RetryPolicy, sleep: Sleep = asyncio.sleep
) -> Attempts:
    """Send until it succeeds, fails permanently, or ``policy.max_attempts`` are spent."""
    last_error: DeliveryError | None = None
    for attempt in range(1, policy.max_attempts + 1):
        try:
            await channel.send(notification)
            return Attempts(attempt, True, last_error)
        except PermanentDeliveryError as exc:
            return Attempts(attempt, False, exc)
        except RetryableDeliveryError as exc:
            last_error = exc
            if attempt == policy.max_attempts:
                break
            delay = policy.delay_after(attempt, exc.retry_after_s)
            m.NOTIFICATION_RETRIES.labels(notification.channel).inc()
            log.warning("delivery_retry", notification_id=str(notification.notification_id),
                        source_event_id=notification.source_event_id, channel=notification.channel,
                        attempt=attempt, retry_in_s=delay, error=str(exc))
            await sleep(delay)
    return Attempts(policy.max_attempts, False, last_error)


class Deliverer:
    """Delivers notifications through their channel, once, or dead-letters them."""

    def __init__(
        self,
        channels: Mapping[str, Channel],
        deliveries: DeliveryLog,
        dead_letters: DeadLetterSink,
        policy: RetryPolicy = RetryPolicy(),
        sleep: Sleep = asyncio.sleep,
        erased: ErasedCheck | None = None,
    ) -> None:
        self._erased = erased
        self._channels = channels
        self._deliveries = deliveries
        self._dead_letters = dead_letters
        self._policy = policy
        self._sleep = sleep

    async def deliver(self, notification: Notification, origin: Origin) -> Outcome:
        ids = {"notification_id": str(notification.notification_id), "source_event_id": notification.source_event_id,
               "rule_id": notification.rule_id, "channel": notification.channel}
        # (0) an erased player gets nothing, and nothing of them is written (no row, no dead letter)
        if self._erased is not None and await self._erased(
                notification.game_id, notification.player_id, int(notification.created_at.timestamp() * 1000)):
            m.NOTIFICATIONS_ERASED.inc()
            log.info("notification_dropped_erased_player", notification_id=ids["notification_id"],
                     rule_id=notification.rule_id, channel=notification.channel)
            return Outcome.ERASED
        # (1) idempotency: a notification already delivered is not sent again
        if await self._deliveries.is_delivered(notification.notification_id):
            m.NOTIFICATIONS_ALREADY_DELIVERED.labels(notification.channel).inc()
            log.info("notification_already_delivered", **ids)
            return Outcome.ALREADY_DELIVERED
        # (2) send, with retries
        channel = self._channels.get(notification.channel)
        if channel is None:
            error = PermanentDeliveryError(
                f"channel {notification.channel!r} of rule {notification.rule_id} is not one of {', '.join(CHANNELS)}")
            attempts = Attempts(0, False, error)
        else:
            attempts = await send_with_retries(channel, notification, self._policy, self._sleep)
        now = datetime.now(timezone.utc)
        last_error = str(attempts.last_error) if attempts.last_error else None
        if attempts.delivered:
            # (3) record it; only then does the agent move on and Faust ack the offset
            await self._deliveries.record(notification, DeliveryStatus.DELIVERED, attempts.count, last_error, now)
            m.NOTIFICATIONS_DELIVERED.labels(notification.channel).inc()
            m.NOTIFICATION_DELIVERY_SECONDS.labels(notification.channel).observe(
                max(0.0, (now - notification.created_at).total_seconds()))
            log.info("notification_delivered", attempts=attempts.count, **ids)
            return Outcome.DELIVERED
        # (4) dead letter, acknowledged by Kafka, then (5) record the failure
        reason = "permanent" if isinstance(attempts.last_error, PermanentDeliveryError) else "retries_exhausted"
        detail = (f"notification {notification.notification_id} (rule {notification.rule_id}) to "
                  f"{notification.channel} {notification.recipient!r} failed after {attempts.count} attempt(s), "
                  f"{reason}: {last_error}")
        record = dead_letter(
            DELIVERY_FAILED, detail, topic=origin.topic, partition=origin.partition, offset=origin.offset,
            key=origin.key, original=origin.value, processor=PROCESSOR_NAME, event_id=notification.source_event_id,
        )
        await self._dead_letters.send(origin.key, record)
        await self._deliveries.record(notification, DeliveryStatus.FAILED, attempts.count, last_error, now)
        m.NOTIFICATIONS_FAILED.labels(notification.channel, reason).inc()
        m.DLQ_RECORDS.labels(DELIVERY_FAILED).inc()
        log.error("notification_failed", attempts=attempts.count, reason=reason, error=last_error, **ids)
        return Outcome.FAILED
