"""Group a request's accepted events per player into EventBatch records (one Kafka message each).

Pure: one Kafka message per player and request (docs/architecture/index.md, "Decisions and their reasons").
"""

from __future__ import annotations

import uuid
from typing import Any


def group_by_player(
    events: list[dict[str, Any]],
    game_id: str,
    received_at_ms: int,
    sent_at_ms: int | None,
    client_ip_hash: str | None,
) -> list[tuple[bytes, dict[str, Any]]]:
    """(Kafka key, EventBatch record) per player, players in first-seen order."""
    per_player: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        per_player.setdefault(event["player_id"], []).append(event)
    return [
        (
            player_id.encode(),
            {
                "batch_id": str(uuid.uuid4()),
                "game_id": game_id,
                "player_id": player_id,
                "received_at": received_at_ms,
                "sent_at": sent_at_ms,
                "client_ip_hash": client_ip_hash,
                "events": player_events,
            },
        )
        for player_id, player_events in per_player.items()
    ]
