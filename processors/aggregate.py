"""Step 6, aggregate: deltas for the rollup tables from the rows just inserted. Pure.

Computed only from newly inserted rows, so a replay (which inserts nothing) adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from processors.enrich import EnrichedEvent


@dataclass
class MinuteRollup:
    events: int = 0
    revenue_usd: float = 0.0


@dataclass
class DailyActivity:
    events: int = 0
    sessions: int = 0
    revenue_usd: float = 0.0


@dataclass
class PlayerDelta:
    first_seen: datetime
    last_seen: datetime
    events: int = 0
    sessions: int = 0
    revenue_usd: float = 0.0
    purchases: int = 0
    platform: str | None = None
    country: str | None = None
    app_version: str | None = None


@dataclass
class SessionDelta:
    player_id: str
    started_at: datetime
    last_event_at: datetime
    ended_at: datetime | None = None
    duration_s: float | None = None
    events: int = 0


@dataclass
class Deltas:
    minutes: dict[tuple[str, datetime, str], MinuteRollup] = field(default_factory=dict)
    minute_players: set[tuple[str, datetime, str, str]] = field(default_factory=set)
    daily: dict[tuple[str, date, str], DailyActivity] = field(default_factory=dict)
    players: dict[tuple[str, str], PlayerDelta] = field(default_factory=dict)
    sessions: dict[tuple[str, str], SessionDelta] = field(default_factory=dict)
    matches: dict[tuple[str, datetime, str, str], int] = field(default_factory=dict)


def _minute(t: datetime) -> datetime:
    return t.replace(second=0, microsecond=0)


def _hour(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


def aggregate(landed: list[EnrichedEvent]) -> Deltas:
    d = Deltas()
    for item in landed:
        e: dict[str, Any] = item.event
        game, player, kind, t = item.game_id, e["player_id"], e["event_type"], e["event_time"]
        revenue = item.revenue_usd or 0.0
        is_start = kind == "session_start"

        minute = d.minutes.setdefault((game, _minute(t), kind), MinuteRollup())
        minute.events += 1
        minute.revenue_usd += revenue
        d.minute_players.add((game, _minute(t), kind, player))

        daily = d.daily.setdefault((game, t.date(), player), DailyActivity())
        daily.events += 1
        daily.sessions += is_start
        daily.revenue_usd += revenue

        p = d.players.get((game, player))
        if p is None:
            p = d.players[(game, player)] = PlayerDelta(first_seen=t, last_seen=t)
        p.first_seen, p.last_seen = min(p.first_seen, t), max(p.last_seen, t)
        p.events += 1
        p.sessions += is_start
        p.revenue_usd += revenue
        p.purchases += kind == "purchase"
        p.platform = item.platform or p.platform
        p.country = e["country"] or p.country
        p.app_version = item.app_version or p.app_version

        if e["session_id"] is not None:
            s = d.sessions.get((game, e["session_id"]))
            if s is None:
                s = d.sessions[(game, e["session_id"])] = SessionDelta(player, t, t)
            s.started_at, s.last_event_at = min(s.started_at, t), max(s.last_event_at, t)
            s.events += 1
            if kind == "session_end":
                s.ended_at = t
                s.duration_s = float(e["properties"]["duration_s"])

        if kind == "match_result":
            key = (game, _hour(t), str(e["properties"]["mode"]), str(e["properties"]["outcome"]))
            d.matches[key] = d.matches.get(key, 0) + 1
    return d
