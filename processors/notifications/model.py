"""The Notification record as a typed value, its deterministic id, and its Avro record form. Pure.

A notification's id is a uuid5 of (rule id, source event id): evaluating the same processed event
again (a Kafka replay, a batch published twice) gives the same id, and delivery is idempotent on it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal, get_args

ChannelName = Literal["email", "webhook", "push", "sms"]
CHANNELS: tuple[str, ...] = get_args(ChannelName)

# Fixed forever: changing it would give every replayed event new notification ids.
NOTIFICATION_ID_NAMESPACE = uuid.UUID("6f1d7c1e-3a52-5b8e-9c0e-6d2f8a1b4c77")

# Payload keys the rules engine sets besides the template variables.
RECIPIENT = "recipient"


def notification_id(rule_id: str, source_event_id: str) -> uuid.UUID:
    """The id of the notification ``rule_id`` makes for ``source_event_id``: the same on every replay."""
    return uuid.uuid5(NOTIFICATION_ID_NAMESPACE, f"{rule_id}\x1f{source_event_id}")


def _utc_from_millis(value: int | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return datetime.fromtimestamp(value / 1000, tz=timezone.utc)


@dataclass(frozen=True)
class Notification:
    """One message for one channel, made by one rule from one event."""

    notification_id: uuid.UUID
    game_id: str
    player_id: str
    channel: str
    rule_id: str
    template: str
    payload: Mapping[str, str] = field(default_factory=dict)
    source_event_id: str | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def recipient(self) -> str:
        """Where the channel sends it: an email address, a URL or a provider's recipient id."""
        return self.payload.get(RECIPIENT, "")

    def to_record(self) -> dict[str, Any]:
        """The Avro ``Notification`` record (schemas/notification.v1.avsc)."""
        return {
            "notification_id": str(self.notification_id),
            "game_id": self.game_id,
            "player_id": self.player_id,
            "channel": self.channel,
            "rule_id": self.rule_id,
            "template": self.template,
            "payload": dict(self.payload),
            "source_event_id": self.source_event_id,
            "created_at": self.created_at,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Notification:
        """Read a decoded Avro ``Notification`` record."""
        return cls(
            notification_id=uuid.UUID(str(record["notification_id"])),
            game_id=record["game_id"],
            player_id=record["player_id"],
            channel=record["channel"],
            rule_id=record["rule_id"],
            template=record["template"],
            payload=dict(record.get("payload") or {}),
            source_event_id=record.get("source_event_id"),
            created_at=_utc_from_millis(record["created_at"]),
        )
