"""Step 6, roll up: the group's contribution to every rollup table, one row per key. Pure.

The worker lands only new events (their keys were claimed first), so what the group adds to a
rollup is an aggregate of its own enriched events; the sink upserts these rows, each list sorted by
its table's key so two workers sharing a rollup row (the same game and minute) lock rows in one
order and wait instead of deadlocking. Times stay epoch milliseconds (buckets floored), revenue is
integer micro-dollars (exact sums; the columns are numeric(18, 6)). The tables, their keys and
measures, and the SQL that upserts these rows and that ``gamemetrics verify`` checks them with, are
declared once in ``store/rollups.py``: each field of :class:`Rollups` is a rollup's ``name`` there,
each row its parameter columns in declaration order:

    minute_players  (game, minute, event type, player): who may count in unique_players
    minutes         (game, minute, event type) -> events, revenue
    daily           (game, day number since 1970-01-01, player) -> events, sessions, revenue
    players         (game, player) -> first/last event time, events, sessions, revenue, purchases,
                    newest non-null platform / country / app version
    sessions        (game, session) -> smallest player id, first/last event time, session_end's
                    time and largest duration_s, events
    matches         (game, hour, mode, outcome) -> match results
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from processors.copy_rows import NATIVE, micro_units
from processors.enrich import EnrichedEvent

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000


def json_text(value: Any) -> str | None:
    """What PostgreSQL's ``properties->>'key'`` gives for a JSON value."""
    if value is None or isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def _duration(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass
class Rollups:
    minute_players: list[tuple[str, int, str, str]] = field(default_factory=list)
    minutes: list[tuple[str, int, str, int, int]] = field(default_factory=list)
    daily: list[tuple[str, int, str, int, int, int]] = field(default_factory=list)
    players: list[tuple[str, str, int, int, int, int, int, int, str | None, str | None, str | None]] = field(
        default_factory=list)
    sessions: list[tuple[str, str, str, int, int, int | None, float | None, int]] = field(default_factory=list)
    matches: list[tuple[str, int, str | None, str | None, int]] = field(default_factory=list)


def _match_order(kv: tuple[tuple[str, int, str | None, str | None], int]) -> tuple[Any, ...]:
    """(game, hour, mode, outcome) with None before any text (the native module's order)."""
    (game, hour, mode, outcome), _ = kv
    return game, hour, mode is not None, mode or "", outcome is not None, outcome or ""


def _newest(current: tuple[int, str] | None, at: int, value: str | None) -> tuple[int, str] | None:
    """The newest non-null value by event time (a later event of the group wins a tie)."""
    if value is None or (current is not None and at < current[0]):
        return current
    return (at, value)


def aggregate(events: Iterable[EnrichedEvent]) -> Rollups:
    """The group's rollup rows: by the native crate's ``landing.aggregate`` when the installed build
    has it (the same rows: tests/processors/test_native_landing.py), else :func:`aggregate_py`."""
    if NATIVE is None:
        return aggregate_py(events)
    return Rollups(*NATIVE.aggregate(list(events), orjson.dumps))


def aggregate_py(events: Iterable[EnrichedEvent]) -> Rollups:
    """The reference (and the fallback) of :func:`aggregate`."""
    minute_players: set[tuple[str, int, str, str]] = set()
    minutes: dict[tuple[str, int, str], list[int]] = {}
    daily: dict[tuple[str, int, str], list[int]] = {}
    players: dict[tuple[str, str], list[Any]] = {}
    sessions: dict[tuple[str, str], list[Any]] = {}
    matches: dict[tuple[str, int, str | None, str | None], int] = {}
    for item in events:
        e = item.event
        game, player, kind, at = item.game_id, e["player_id"], e["event_type"], e["event_time"]
        revenue = 0 if item.revenue_usd is None else micro_units(item.revenue_usd)
        starts = kind == "session_start"
        minute = at - at % MINUTE_MS
        minute_players.add((game, minute, kind, player))
        m = minutes.get((game, minute, kind))
        if m is None:
            minutes[(game, minute, kind)] = [1, revenue]
        else:
            m[0] += 1
            m[1] += revenue
        d = daily.get((game, at // DAY_MS, player))
        if d is None:
            daily[(game, at // DAY_MS, player)] = [1, int(starts), revenue]
        else:
            d[0] += 1
            d[1] += starts
            d[2] += revenue
        p = players.get((game, player))
        if p is None:
            p = players[(game, player)] = [at, at, 0, 0, 0, 0, None, None, None]
        p[0] = min(p[0], at)
        p[1] = max(p[1], at)
        p[2] += 1
        p[3] += starts
        p[4] += revenue
        p[5] += kind == "purchase"
        p[6] = _newest(p[6], at, item.platform)
        p[7] = _newest(p[7], at, e["country"])
        p[8] = _newest(p[8], at, item.app_version)
        session = e["session_id"]
        if session is not None:
            s = sessions.get((game, session))
            if s is None:
                s = sessions[(game, session)] = [player, at, at, None, None, 0]
            s[0] = min(s[0], player)
            s[1] = min(s[1], at)
            s[2] = max(s[2], at)
            if kind == "session_end":
                s[3] = at if s[3] is None else max(s[3], at)
                duration = _duration(e["properties"].get("duration_s"))
                if duration is not None:
                    s[4] = duration if s[4] is None else max(s[4], duration)
            s[5] += 1
        if kind == "match_result":
            props = e["properties"]
            key = (game, at - at % HOUR_MS, json_text(props.get("mode")), json_text(props.get("outcome")))
            matches[key] = matches.get(key, 0) + 1
    return Rollups(
        minute_players=sorted(minute_players),
        minutes=[(*k, *v) for k, v in sorted(minutes.items())],  # type: ignore[misc]
        daily=[(*k, *v) for k, v in sorted(daily.items())],  # type: ignore[misc]
        players=[(*k, *v[:6], *(None if x is None else x[1] for x in v[6:])) for k, v in sorted(players.items())],
        sessions=[(*k, *v) for k, v in sorted(sessions.items())],  # type: ignore[misc]
        matches=[(*k, v) for k, v in sorted(matches.items(), key=_match_order)],
    )
