"""Delivery checks tombstones (issue 21, item 4): a notification of an erased player is neither sent
nor recorded, whatever it carries; other players' notifications go through. Real PostgreSQL (the
tombstone an erase request writes, the delivery log); the channel is the scripted seam."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from processors.notifications.agents import store_erased_check
from processors.notifications.delivery import Deliverer, Origin, Outcome
from processors.notifications.delivery_log import PostgresDeliveryLog
from processors.notifications.model import RECIPIENT, Notification
from retention.gdpr import requests
from store import db
from store.audit import AuditLog
from store.connections import WaitingConnection
from store.privacy import PlayerHasher
from tests.processors.notifications.test_delivery import FAST, RecordingDeadLetters, ScriptedChannel

pytestmark = pytest.mark.integration

ORIGIN = Origin("t.notifications", 0, 1, b"k", b"bytes")


def made(player: str, at: datetime) -> Notification:
    return Notification(uuid.uuid4(), "g1", player, "webhook", "r1", "Hi", {RECIPIENT: f"mailto:{player}@example.com"},
                        str(uuid.uuid4()), at)


def test_an_erased_players_notifications_are_dropped_and_leave_no_row(isolated):
    ana, bo = f"ana-{uuid.uuid4().hex[:6]}", f"bo-{uuid.uuid4().hex[:6]}"
    before = datetime.now(timezone.utc) - timedelta(seconds=5)
    with db.connect(isolated, autocommit=True) as conn:
        requests.create(conn, PlayerHasher.of(isolated), AuditLog.of(isolated), "erase", "g1", ana, "test")
    channel, dlq = ScriptedChannel(), RecordingDeadLetters()

    async def run() -> list[Outcome]:
        store = WaitingConnection(isolated)
        try:
            deliverer = Deliverer({"webhook": channel}, PostgresDeliveryLog(store), dlq, FAST,
                                  erased=store_erased_check(store, PlayerHasher.of(isolated)))
            return [await deliverer.deliver(made(ana, before), ORIGIN), await deliverer.deliver(made(bo, before), ORIGIN)]
        finally:
            await store.close()

    assert asyncio.run(run()) == [Outcome.ERASED, Outcome.DELIVERED]
    assert [n.player_id for n in channel.sent] == [bo] and dlq.records == []
    with db.connect(isolated, autocommit=True) as conn:
        rows = conn.execute("SELECT player_id FROM notification_deliveries").fetchall()
        held = conn.execute("SELECT count(*) FROM notification_deliveries t WHERE strpos(t::text, %s) > 0",
                            (ana,)).fetchone()[0]
    assert rows == [(bo,)] and held == 0
