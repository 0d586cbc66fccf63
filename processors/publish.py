"""Step 7, publish: a ProcessedEventBatch (v3) per source batch, holding only its newly landed
events, with what was landed: the normalised platform and app version beside the event as sent. Pure."""

from __future__ import annotations

from typing import Any

from processors.enrich import EnrichedEvent


def processed_batch(batch: dict[str, Any], landed: list[EnrichedEvent], processed_at_ms: int) -> dict[str, Any]:
    """Plain values (epoch-ms ints, string ids): encode with ``AvroSerializer(..., logical=False)``."""
    return {
        "batch_id": batch["batch_id"],
        "game_id": batch["game_id"],
        "player_id": batch["player_id"],
        "received_at": batch["received_at"],
        "processed_at": processed_at_ms,
        "events": [
            {
                "event": item.event,
                "is_new_player": item.is_new_player,
                "session_seq": item.session_seq,
                "revenue_usd": item.revenue_usd,
                "player_lifetime_revenue_usd": item.lifetime_revenue_usd,
                "delay_ms": item.delay_ms,
                "platform": item.platform,
                "app_version": item.app_version,
            }
            for item in landed
        ],
    }
