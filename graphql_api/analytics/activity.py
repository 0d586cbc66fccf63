"""``activeUsers``: DAU/WAU/MAU and stickiness, from ``player_daily_activity``."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from graphql_api.ranges import Granularity, day_buckets, day_range
from graphql_api.database import Database
from graphql_api.types import ActiveUsers, ActiveUsersPoint, Stickiness
from store.rollups import DAILY_ACTIVITY

STICKINESS_DAYS = 30


async def active_users(db: Database, max_points: int, game_id: str, start: date, end: date,
                       granularity: Granularity) -> ActiveUsers:
    r = day_range(start, end, "activeUsers")
    buckets = day_buckets(r, granularity, max_points, "activeUsers")
    window_start = r.end - timedelta(days=STICKINESS_DAYS)
    per_bucket, window = await asyncio.gather(
        db.fetch(
            f"""
            SELECT date_trunc(%s, day)::date, count(DISTINCT player_id) FROM {DAILY_ACTIVITY.table}
            WHERE game_id = %s AND day >= %s AND day < %s GROUP BY 1
            """,
            (granularity.value, game_id, r.start, r.end),
        ),
        db.fetch(
            f"SELECT count(*), count(DISTINCT player_id) FROM {DAILY_ACTIVITY.table} "
            "WHERE game_id = %s AND day >= %s AND day < %s",
            (game_id, window_start, r.end),
        ),
    )
    counts = dict(per_bucket)
    user_days, mau = window[0]
    average_dau = user_days / STICKINESS_DAYS
    return ActiveUsers(
        game_id=game_id, granularity=granularity, start=r.start, end=r.end,
        points=[ActiveUsersPoint(start=b, days=days, active_users=counts.get(b, 0)) for b, days in buckets],
        stickiness=Stickiness(window_start=window_start, window_end=r.end, average_dau=average_dau, mau=mau,
                              ratio=average_dau / mau if mau else None),
    )
