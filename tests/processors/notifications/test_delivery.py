"""processors/notifications/delivery.py and delivery_log.py: once, retried, or dead-lettered.

The Deliverer runs here against in-memory seams (a scripted channel, the in-memory delivery log,
a recording DLQ); the delivery log contract runs against both the in-memory log and PostgreSQL.
The real Kafka/PostgreSQL/SMTP/HTTP path is in test_agents.py.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from processors.notifications.delivery import Deliverer, Origin, Outcome
from processors.notifications.delivery_log import DeliveryStatus, InMemoryDeliveryLog, PostgresDeliveryLog
from processors.notifications.errors import PermanentDeliveryError, RetryableDeliveryError
from processors.notifications.model import RECIPIENT, Notification
from gamemetrics.retry import RetryPolicy
from store.connections import WaitingConnection

NOW = datetime(2026, 11, 22, 10, tzinfo=timezone.utc)
FAST = RetryPolicy(max_attempts=3, first_delay_s=0.5, max_delay_s=4.0)
ORIGIN = Origin("t.notifications", 2, 41, b"p-1", b"\x00\x00\x00\x00\x05notification-bytes")


def notification(channel: str = "webhook") -> Notification:
    return Notification(uuid.uuid4(), "g1", "p-1", channel, "r1", "Hi $player_id",
                        {RECIPIENT: "https://crm.example/hook", "player_id": "p-1"}, str(uuid.uuid4()), NOW)


class ScriptedChannel:
    """Fails with the scripted errors, in order, then succeeds; counts the sends."""

    name = "webhook"

    def __init__(self, *failures: Exception) -> None:
        self._failures = list(failures)
        self.sent: list[Notification] = []

    async def send(self, n: Notification) -> None:
        self.sent.append(n)
        if self._failures:
            raise self._failures.pop(0)


class RecordingDeadLetters:
    def __init__(self) -> None:
        self.records: list[tuple[bytes | None, dict[str, Any]]] = []

    async def send(self, key: bytes | None, record: dict[str, Any]) -> None:
        self.records.append((key, record))


class Waits:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def deliverer(channel: ScriptedChannel, log: InMemoryDeliveryLog, dlq: RecordingDeadLetters, waits: Waits) -> Deliverer:
    return Deliverer({"webhook": channel}, log, dlq, FAST, sleep=waits)


def test_delivered_once_even_when_the_same_notification_comes_again():
    channel, log, dlq, waits = ScriptedChannel(), InMemoryDeliveryLog(), RecordingDeadLetters(), Waits()
    n = notification()
    first = asyncio.run(deliverer(channel, log, dlq, waits).deliver(n, ORIGIN))
    again = asyncio.run(deliverer(channel, log, dlq, waits).deliver(n, ORIGIN))
    assert (first, again) == (Outcome.DELIVERED, Outcome.ALREADY_DELIVERED)
    assert len(channel.sent) == 1 and dlq.records == []
    record = asyncio.run(log.get(n.notification_id))
    assert record.status is DeliveryStatus.DELIVERED and record.attempts == 1


def test_retryable_errors_are_retried_with_backoff_until_it_goes_through():
    channel = ScriptedChannel(RetryableDeliveryError("503"), RetryableDeliveryError("timeout"))
    log, dlq, waits = InMemoryDeliveryLog(), RecordingDeadLetters(), Waits()
    n = notification()
    assert asyncio.run(deliverer(channel, log, dlq, waits).deliver(n, ORIGIN)) is Outcome.DELIVERED
    assert waits.delays == [0.5, 1.0]
    record = asyncio.run(log.get(n.notification_id))
    assert (record.status, record.attempts, record.last_error) == (DeliveryStatus.DELIVERED, 3, "timeout")


def test_when_attempts_are_spent_the_notification_goes_to_the_dlq_and_is_marked_failed():
    channel = ScriptedChannel(*(RetryableDeliveryError("webhook: answered 500") for _ in range(5)))
    log, dlq, waits = InMemoryDeliveryLog(), RecordingDeadLetters(), Waits()
    n = notification()
    assert asyncio.run(deliverer(channel, log, dlq, waits).deliver(n, ORIGIN)) is Outcome.FAILED
    assert len(channel.sent) == FAST.max_attempts and waits.delays == [0.5, 1.0]
    [(key, record)] = dlq.records
    assert key == b"p-1" and record["original"] == ORIGIN.value
    assert record["error_type"] == "delivery_failed" and record["processor"] == "notifications.delivery"
    assert (record["source_topic"], record["source_partition"], record["source_offset"]) == ("t.notifications", 2, 41)
    assert record["event_id"] == n.source_event_id
    assert f"{n.notification_id}" in record["detail"] and "3 attempt(s), retries_exhausted" in record["detail"]
    failed = asyncio.run(log.get(n.notification_id))
    assert (failed.status, failed.attempts, failed.delivered_at) == (DeliveryStatus.FAILED, 3, None)


def test_a_permanent_error_is_not_retried():
    channel = ScriptedChannel(PermanentDeliveryError("404"))
    log, dlq, waits = InMemoryDeliveryLog(), RecordingDeadLetters(), Waits()
    assert asyncio.run(deliverer(channel, log, dlq, waits).deliver(notification(), ORIGIN)) is Outcome.FAILED
    assert len(channel.sent) == 1 and waits.delays == []
    assert "permanent: 404" in dlq.records[0][1]["detail"]


def test_an_unknown_channel_goes_to_the_dlq():
    channel, log, dlq, waits = ScriptedChannel(), InMemoryDeliveryLog(), RecordingDeadLetters(), Waits()
    outcome = asyncio.run(deliverer(channel, log, dlq, waits).deliver(notification("carrier_pigeon"), ORIGIN))
    assert outcome is Outcome.FAILED and channel.sent == []
    assert "'carrier_pigeon'" in dlq.records[0][1]["detail"]


# --- the delivery log contract: the in-memory log and PostgreSQL behave the same -----------------


@pytest.fixture(params=["memory", pytest.param("postgres", marks=pytest.mark.integration)])
def delivery_log(request):
    if request.param == "memory":
        yield InMemoryDeliveryLog(), asyncio.run
        return
    settings = request.getfixturevalue("isolated")
    runner = asyncio.Runner()
    store = WaitingConnection(settings)
    yield PostgresDeliveryLog(store), runner.run
    runner.run(store.close())
    runner.close()


class TestDeliveryLogContract:
    def test_unknown_notifications_are_not_delivered(self, delivery_log):
        log, run = delivery_log
        assert run(log.is_delivered(uuid.uuid4())) is False
        assert run(log.get(uuid.uuid4())) is None

    def test_delivered_is_final_and_attempts_add_up(self, delivery_log):
        log, run = delivery_log
        n = notification()
        run(log.record(n, DeliveryStatus.FAILED, 3, "500", NOW))
        assert run(log.is_delivered(n.notification_id)) is False
        run(log.record(n, DeliveryStatus.DELIVERED, 1, None, NOW + timedelta(minutes=5)))
        run(log.record(n, DeliveryStatus.FAILED, 2, "late replay", NOW + timedelta(minutes=9)))
        assert run(log.is_delivered(n.notification_id)) is True
        record = run(log.get(n.notification_id))
        assert (record.status, record.attempts, record.last_error) == (DeliveryStatus.DELIVERED, 4, None)
        assert record.delivered_at == NOW + timedelta(minutes=5)
        assert (record.rule_id, record.game_id, record.player_id, record.channel, record.source_event_id) == (
            "r1", "g1", "p-1", "webhook", n.source_event_id)
