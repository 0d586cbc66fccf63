"""``funnel``: ordered conversion through steps, on raw ``player_events``.

A player enters at their first step-1 event in [from, to). Each next step is the first event
matching it strictly after the player's previous step and no later than ``within`` after entering.
Built as one SQL statement, a CTE per step: each step joins the players still in the funnel to
the events of that step, bounded by [from, to + within] so only those days' partitions are read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from graphql_api.errors import BadArgument
from graphql_api.ranges import time_range
from graphql_api.database import Database
from graphql_api.types import Funnel, FunnelStep, FunnelStepInput

MIN_STEPS, MAX_STEPS = 2, 10
MAX_WITHIN = timedelta(days=90)
MAX_NAME = 64


@dataclass(frozen=True)
class StepMatch:
    """What an event must be to count for a step. Pure."""

    label: str
    event_type: str
    level: str | None = None
    status: str | None = None

    def condition(self, alias: str, i: int) -> tuple[str, dict[str, str]]:
        params = {f"type{i}": self.event_type}
        sql = f"{alias}event_type = %(type{i})s"
        if self.level is not None:
            sql += f" AND {alias}properties->>'level' = %(level{i})s AND {alias}properties->>'status' = %(status{i})s"
            params.update({f"level{i}": self.level, f"status{i}": self.status or "complete"})
        return sql, params


def step_matches(steps: list[FunnelStepInput]) -> list[StepMatch]:
    if not MIN_STEPS <= len(steps) <= MAX_STEPS:
        raise BadArgument(f"funnel: give {MIN_STEPS} to {MAX_STEPS} steps (got {len(steps)})")
    out = []
    for i, step in enumerate(steps):
        if step.event_type:
            if len(step.event_type) > MAX_NAME:
                raise BadArgument(f"funnel: steps[{i}].eventType is longer than {MAX_NAME} characters")
            out.append(StepMatch(step.event_type, step.event_type))
        elif step.progression:
            level, status = step.progression.level.strip(), step.progression.status.value
            if not level or len(level) > MAX_NAME:
                raise BadArgument(f"funnel: steps[{i}].progression.level must be 1 to {MAX_NAME} characters")
            out.append(StepMatch(f"level {level} {status}", "progression", level, status))
        else:
            raise BadArgument(f"funnel: steps[{i}] must set eventType or progression")
    return out


def funnel_sql(matches: list[StepMatch]) -> tuple[str, dict[str, object]]:
    """The statement and its parameters (besides game, start, end, within, horizon = end + within). Pure."""
    params: dict[str, object] = {}
    cond, p = matches[0].condition("", 0)
    params.update(p)
    ctes = [
        f"""s0 AS (
            SELECT player_id, min(event_time) AS t0, min(event_time) AS t, NULL::timestamptz AS prev
            FROM player_events
            WHERE game_id = %(game)s AND event_time >= %(start)s AND event_time < %(end)s AND {cond}
            GROUP BY player_id)"""
    ]
    for i, match in enumerate(matches[1:], start=1):
        cond, p = match.condition("e.", i)
        params.update(p)
        ctes.append(
            f"""s{i} AS (
            SELECT p.player_id, p.t0, min(e.event_time) AS t, p.t AS prev FROM s{i - 1} p
            JOIN player_events e ON e.game_id = %(game)s AND e.player_id = p.player_id
             AND e.event_time > p.t AND e.event_time <= p.t0 + %(within)s
             AND e.event_time >= %(start)s AND e.event_time <= %(horizon)s AND {cond}
            GROUP BY p.player_id, p.t0, p.t)"""
        )
    selects = [
        f"SELECT {i}, count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t - prev)) FROM s{i}"
        for i in range(len(matches))
    ]
    return "WITH " + ",\n".join(ctes) + "\n" + "\nUNION ALL ".join(selects), params


async def funnel(db: Database, max_days: int, game_id: str, steps: list[FunnelStepInput], start: datetime,
                 end: datetime, within: timedelta) -> Funnel:
    r = time_range(start, end, "funnel")
    if r.end - r.start > timedelta(days=max_days):
        raise BadArgument(f"funnel: the range is over the limit of {max_days} days (it scans raw events); shorten it")
    if within > MAX_WITHIN:
        raise BadArgument(f"funnel: within is over the limit of {MAX_WITHIN.days} days")
    matches = step_matches(steps)
    sql, params = funnel_sql(matches)
    rows = await db.fetch(sql, {**params, "game": game_id, "start": r.start, "end": r.end, "within": within,
                                "horizon": r.end + within})
    by_step = {i: (n, median) for i, n, median in rows}
    first = by_step[0][0]
    out = []
    for i, match in enumerate(matches):
        players, median = by_step[i]
        previous = by_step[i - 1][0] if i else players
        out.append(FunnelStep(
            index=i + 1, label=match.label, players=players,
            conversion=players / first if first else 0.0,
            step_conversion=players / previous if previous else 0.0,
            median_seconds_from_previous=float(median) if median is not None else None,
        ))
    return Funnel(game_id=game_id, start=r.start, end=r.end, within=within, steps=out)
