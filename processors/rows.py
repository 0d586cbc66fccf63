"""Step 2, rows: a decoded EventBatch -> tuples in ``PLAYER_EVENT_COLUMNS`` order. Pure."""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb

from gamemetrics.store.tables import PLAYER_EVENT_COLUMNS

EXPECTED_COLUMNS = (
    "event_id", "event_time", "game_id", "player_id", "event_type", "client_ts", "received_at",
    "session_id", "platform", "app_version", "country", "properties", "batch_id",
)
if PLAYER_EVENT_COLUMNS != EXPECTED_COLUMNS:  # a table change must be mirrored here
    raise ImportError(f"player_events columns changed: {PLAYER_EVENT_COLUMNS} != {EXPECTED_COLUMNS}")


def batch_rows(batch: dict[str, Any]) -> list[tuple[Any, ...]]:
    game_id = batch["game_id"]
    received_at = batch["received_at"]
    batch_id = batch["batch_id"]
    return [
        (
            e["event_id"], e["event_time"], game_id, e["player_id"], e["event_type"], e["ts"], received_at,
            e["session_id"], e["platform"], e["app_version"], e["country"], Jsonb(e["properties"]), batch_id,
        )
        for e in batch["events"]
    ]
