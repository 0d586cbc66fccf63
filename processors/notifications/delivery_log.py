"""Which notifications were delivered: the ``notification_deliveries`` table, and an in-memory twin.

One row per notification id. ``delivered`` is final: a later 'failed' never overwrites it (a DLQ
replay of a notification that meanwhile got through). Attempts add up across deliveries of the
same id, so a notification replayed from the DLQ shows every attempt it took.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum
from typing import Protocol

import psycopg

from processors.notifications.model import Notification
from store.connections import WaitingConnection


class DeliveryStatus(str, Enum):
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True)
class DeliveryRecord:
    notification_id: uuid.UUID
    channel: str
    rule_id: str
    game_id: str
    player_id: str
    source_event_id: str | None
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    delivered_at: datetime | None


class DeliveryLog(Protocol):
    async def is_delivered(self, notification_id: uuid.UUID) -> bool:
        """True when this notification was delivered before."""

    async def record(
        self, notification: Notification, status: DeliveryStatus, attempts: int, last_error: str | None, at: datetime
    ) -> None:
        """Store the outcome of a delivery (committed when this returns)."""

    async def get(self, notification_id: uuid.UUID) -> DeliveryRecord | None:
        """The stored outcome, if any."""


def _new_record(
    notification: Notification, status: DeliveryStatus, attempts: int, last_error: str | None, at: datetime
) -> DeliveryRecord:
    return DeliveryRecord(
        notification.notification_id, notification.channel, notification.rule_id, notification.game_id,
        notification.player_id, notification.source_event_id, status, attempts, last_error,
        at if status is DeliveryStatus.DELIVERED else None,
    )


class InMemoryDeliveryLog:
    """The same contract in a dict, for fast unit tests."""

    def __init__(self) -> None:
        self._records: dict[uuid.UUID, DeliveryRecord] = {}

    async def is_delivered(self, notification_id: uuid.UUID) -> bool:
        found = self._records.get(notification_id)
        return found is not None and found.status is DeliveryStatus.DELIVERED

    async def record(
        self, notification: Notification, status: DeliveryStatus, attempts: int, last_error: str | None, at: datetime
    ) -> None:
        new = _new_record(notification, status, attempts, last_error, at)
        old = self._records.get(notification.notification_id)
        if old is None:
            self._records[new.notification_id] = new
        elif old.status is not DeliveryStatus.DELIVERED:
            self._records[new.notification_id] = replace(new, attempts=old.attempts + attempts)

    async def get(self, notification_id: uuid.UUID) -> DeliveryRecord | None:
        return self._records.get(notification_id)


_COLUMNS = ("notification_id, channel, rule_id, game_id, player_id, source_event_id, status, attempts, "
            "last_error, delivered_at")
_RECORD = f"""
INSERT INTO notification_deliveries AS d ({_COLUMNS}, updated_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (notification_id) DO UPDATE SET
    status = EXCLUDED.status,
    attempts = d.attempts + EXCLUDED.attempts,
    last_error = EXCLUDED.last_error,
    delivered_at = EXCLUDED.delivered_at,
    updated_at = EXCLUDED.updated_at
WHERE d.status <> 'delivered'
"""


class PostgresDeliveryLog:
    """``notification_deliveries`` through a :class:`store.connections.WaitingConnection` (waits while
    PostgreSQL is down)."""

    def __init__(self, store: WaitingConnection) -> None:
        self._store = store

    async def is_delivered(self, notification_id: uuid.UUID) -> bool:
        async def probe(conn: psycopg.AsyncConnection) -> bool:
            cur = await conn.execute(
                "SELECT 1 FROM notification_deliveries WHERE notification_id = %s AND status = 'delivered'",
                (notification_id,),
            )
            return await cur.fetchone() is not None

        return await self._store.run("checking notification_deliveries", probe)

    async def record(
        self, notification: Notification, status: DeliveryStatus, attempts: int, last_error: str | None, at: datetime
    ) -> None:
        row = _new_record(notification, status, attempts, last_error, at)

        async def write(conn: psycopg.AsyncConnection) -> None:
            await conn.execute(_RECORD, (
                row.notification_id, row.channel, row.rule_id, row.game_id, row.player_id, row.source_event_id,
                row.status.value, row.attempts, row.last_error, row.delivered_at, at,
            ))

        await self._store.run("recording a notification delivery", write)

    async def get(self, notification_id: uuid.UUID) -> DeliveryRecord | None:
        async def read(conn: psycopg.AsyncConnection) -> DeliveryRecord | None:
            cur = await conn.execute(
                f"SELECT {_COLUMNS} FROM notification_deliveries WHERE notification_id = %s", (notification_id,))
            found = await cur.fetchone()
            if found is None:
                return None
            return DeliveryRecord(*found[:6], DeliveryStatus(found[6]), *found[7:])

        return await self._store.run("reading notification_deliveries", read)
