"""ProcessedEventBatch v2 records as the rules agent decodes them, for the notification tests."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any


def processed_event(
    event_type: str,
    player_id: str,
    properties: dict[str, Any] | None = None,
    revenue_usd: float | None = None,
    lifetime_revenue_usd: float | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    return {
        "event": {
            "event_id": event_id or str(uuid.uuid4()), "event_type": event_type, "player_id": player_id,
            "ts": now, "event_time": now, "session_id": f"s-{player_id}", "platform": "ios",
            "app_version": "1.2.0", "country": "FR", "properties": properties or {},
        },
        "is_new_player": False,
        "session_seq": 1,
        "revenue_usd": revenue_usd,
        "player_lifetime_revenue_usd": lifetime_revenue_usd,
        "delay_ms": 120,
    }


def purchase(
    player_id: str, usd: float, lifetime_usd: float | None, item_id: str = "gem_pack", **kwargs: Any
) -> dict[str, Any]:
    properties = {"item_id": item_id, "amount": usd, "currency": "USD"}
    return processed_event("purchase", player_id, properties, usd, lifetime_usd, **kwargs)


def processed_batch(game_id: str, player_id: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    return {
        "batch_id": str(uuid.uuid4()), "game_id": game_id, "player_id": player_id,
        "received_at": now, "processed_at": now, "events": events,
    }
