"""Step 4, enrich: what an analyst expects on each event, derived without the internet. Pure.

Given the state read in the landing transaction (known players, their lifetime revenue, session
event counts) and the currency table, each event gets: normalised platform and app version,
revenue in USD, its position in its session, whether it is from a new player, the player's
lifetime revenue after it, and how late it reached us. Events are enriched in Kafka order and
the state is threaded through, so several batches of one player in one transaction count right.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PLATFORMS = {
    "ios": "ios", "iphone": "ios", "ipad": "ios", "ipados": "ios",
    "android": "android",
    "windows": "windows", "win": "windows", "win32": "windows", "win64": "windows", "pc": "windows",
    "mac": "macos", "macos": "macos", "osx": "macos", "mac os": "macos", "macosx": "macos",
    "linux": "linux", "steamos": "linux", "steam deck": "linux",
    "switch": "switch", "nintendo switch": "switch",
    "ps4": "playstation", "ps5": "playstation", "playstation": "playstation",
    "playstation 4": "playstation", "playstation 5": "playstation",
    "xbox": "xbox", "xbox one": "xbox", "xbox series x": "xbox", "xbox series s": "xbox",
    "web": "web", "webgl": "web", "browser": "web", "html5": "web",
}
MAX_PLATFORM_LENGTH = 32
_VERSION = re.compile(r"^[vV]?(\d+(?:\.\d+){0,3})")


def normalize_platform(value: str | None) -> str | None:
    if value is None:
        return None
    key = value.strip().lower()
    return PLATFORMS.get(key, key[:MAX_PLATFORM_LENGTH] or None)


def normalize_app_version(value: str | None) -> str | None:
    """``v1.2.3-beta+45`` -> ``1.2.3``; a version without numbers is kept as sent."""
    if value is None:
        return None
    match = _VERSION.match(value.strip())
    return match.group(1) if match else value.strip() or None


@dataclass(frozen=True)
class KnownPlayer:
    lifetime_revenue_usd: float


@dataclass
class State:
    """What the store knows before this transaction; updated as events are enriched."""

    players: dict[tuple[str, str], KnownPlayer] = field(default_factory=dict)
    session_events: dict[tuple[str, str], int] = field(default_factory=dict)


@dataclass(slots=True)
class EnrichedEvent:
    """An event with what enrichment adds; times are epoch-millisecond ints, ids strings."""

    event: dict[str, Any]
    game_id: str
    batch_id: str
    received_at: int
    platform: str | None
    app_version: str | None
    session_seq: int | None
    is_new_player: bool
    revenue_usd: float | None
    lifetime_revenue_usd: float
    delay_ms: int

    def row(self) -> tuple[Any, ...]:
        """The staged row, in ``PLAYER_EVENT_COLUMNS`` order (landed_at by default); times in epoch ms."""
        e = self.event
        return (
            e["event_id"], e["event_time"], self.game_id, e["player_id"], e["event_type"], e["ts"], self.received_at,
            e["session_id"], self.platform, self.app_version, e["country"], e["properties"], self.batch_id,
            self.session_seq, self.is_new_player, self.revenue_usd, self.delay_ms,
        )


def enrich_batch(
    batch: dict[str, Any], events: list[dict[str, Any]], state: State, usd_per_unit: Mapping[str, float]
) -> list[EnrichedEvent]:
    game_id = batch["game_id"]
    received_at = batch["received_at"]
    batch_id = batch["batch_id"]
    out: list[EnrichedEvent] = []
    for event in events:
        player_key = (game_id, event["player_id"])
        known = state.players.get(player_key)
        is_new = known is None
        lifetime = known.lifetime_revenue_usd if known else 0.0
        revenue = None
        if event["event_type"] == "purchase":
            props = event["properties"]
            revenue = round(float(props["amount"]) * usd_per_unit[props["currency"]], 6)
            lifetime = round(lifetime + revenue, 6)
        session_seq = None
        if event["session_id"] is not None:
            session_key = (game_id, event["session_id"])
            session_seq = state.session_events.get(session_key, 0) + 1
            state.session_events[session_key] = session_seq
        out.append(
            EnrichedEvent(
                event, game_id, batch_id, received_at,
                normalize_platform(event["platform"]), normalize_app_version(event["app_version"]),
                session_seq, is_new, revenue, lifetime,
                received_at - event["event_time"],
            )
        )
        state.players[player_key] = KnownPlayer(lifetime)
    return out
