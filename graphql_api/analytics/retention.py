"""``retention``: classic day-N retention of first-seen cohorts (``players`` x ``player_daily_activity``)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone

from graphql_api.errors import BadArgument
from graphql_api.ranges import day_range
from graphql_api.database import Database
from graphql_api.types import Retention, RetentionCohort, RetentionDay
from store.rollups import DAILY_ACTIVITY, PLAYERS

MAX_DAY = 365
MAX_DAYS = 20


def check_days(days: list[int]) -> list[int]:
    if not days or len(days) > MAX_DAYS:
        raise BadArgument(f"retention: days must list 1 to {MAX_DAYS} values, e.g. [1, 7, 30]")
    bad = [d for d in days if not 0 < d <= MAX_DAY]
    if bad:
        raise BadArgument(f"retention: days {bad} are out of range; each N must be 1 to {MAX_DAY}")
    return sorted(set(days))


def _midnight(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=timezone.utc)


async def retention(db: Database, max_points: int, game_id: str, cohort_from: date, cohort_to: date,
                    days: list[int], today: date | None = None) -> Retention:
    r = day_range(cohort_from, cohort_to, "retention", "cohortFrom", "cohortTo")
    if r.days > max_points:
        raise BadArgument(f"retention: {r.days} cohorts is over the limit of {max_points}; shorten the range")
    days = check_days(days)
    today = today or datetime.now(timezone.utc).date()
    rows = await db.fetch(
        f"""
        WITH cohort AS (
            SELECT player_id, (first_seen AT TIME ZONE 'UTC')::date AS cohort FROM {PLAYERS.table}
            WHERE game_id = %(game)s AND first_seen >= %(start)s AND first_seen < %(end)s
        )
        SELECT c.cohort, n.day, count(*), count(a.player_id)
        FROM cohort c CROSS JOIN unnest(%(days)s::int[]) AS n(day)
        LEFT JOIN {DAILY_ACTIVITY.table} a
               ON a.game_id = %(game)s AND a.day = c.cohort + n.day AND a.player_id = c.player_id
        GROUP BY 1, 2
        """,
        {"game": game_id, "start": _midnight(r.start), "end": _midnight(r.end), "days": days},
    )
    sizes: dict[date, int] = {}
    retained: dict[tuple[date, int], int] = {}
    for cohort, n, size, kept in rows:
        sizes[cohort] = size
        retained[(cohort, n)] = kept
    cohorts = []
    sums: dict[int, list[int]] = defaultdict(lambda: [0, 0])  # N -> [retained, players] over cohorts whose day N is over
    for i in range(r.days):
        cohort = r.start + timedelta(days=i)
        size = sizes.get(cohort, 0)
        points = []
        for n in days:
            if cohort + timedelta(days=n) >= today:  # day N not over yet
                points.append(RetentionDay(day=n, retained=None, rate=None))
                continue
            kept = retained.get((cohort, n), 0)
            points.append(RetentionDay(day=n, retained=kept, rate=kept / size if size else None))
            sums[n][0] += kept
            sums[n][1] += size
        cohorts.append(RetentionCohort(cohort=cohort, players=size, days=points))
    average = [
        RetentionDay(day=n, retained=sums[n][0] if n in sums else None,
                     rate=sums[n][0] / sums[n][1] if n in sums and sums[n][1] else None)
        for n in days
    ]
    return Retention(game_id=game_id, days=days, cohorts=cohorts, average=average)
