"""``revenue``: revenue, paying users, ARPDAU, ARPPU and conversion, from ``player_daily_activity``."""

from __future__ import annotations

from datetime import date

from graphql_api.ranges import Granularity, day_buckets, day_range
from graphql_api.database import Database
from graphql_api.types import Revenue, RevenuePoint
from store.rollups import DAILY_ACTIVITY


def revenue_point(start: date, days: int, revenue: float, paying: int, active: int, user_days: int) -> RevenuePoint:
    """Ratios of one bucket; null where the denominator is zero. Pure."""
    return RevenuePoint(
        start=start, days=days, revenue_usd=round(revenue, 6), paying_users=paying, active_users=active,
        arpdau=revenue / user_days if user_days else None,
        arppu=revenue / paying if paying else None,
        conversion=paying / active if active else None,
    )


async def revenue(db: Database, max_points: int, game_id: str, start: date, end: date, bucket: Granularity) -> Revenue:
    r = day_range(start, end, "revenue")
    buckets = day_buckets(r, bucket, max_points, "revenue")
    rows = await db.fetch(
        f"""
        SELECT date_trunc(%s, day)::date, coalesce(sum(revenue_usd), 0)::float8,
               count(DISTINCT player_id) FILTER (WHERE revenue_usd > 0), count(DISTINCT player_id), count(*)
        FROM {DAILY_ACTIVITY.table}
        WHERE game_id = %s AND day >= %s AND day < %s
        GROUP BY GROUPING SETS ((1), ())
        """,
        (bucket.value, game_id, r.start, r.end),
    )
    per_bucket = {b: row for b, *row in rows if b is not None}
    total = next((row for b, *row in rows if b is None), [0.0, 0, 0, 0])
    points = [revenue_point(b, days, *per_bucket.get(b, (0.0, 0, 0, 0))) for b, days in buckets]
    return Revenue(game_id=game_id, bucket=bucket, start=r.start, end=r.end,
                   total=revenue_point(r.start, r.days, *total), points=points)
