"""``sessions`` (count, mean, median, p90 length) and ``concurrentPlayers``, from the ``sessions`` table."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from graphql_api.analytics.ranges import BUCKET_ORIGIN, Bucket, bucket_starts, time_range
from graphql_api.database import Database
from graphql_api.types import ConcurrencyPoint, Sessions
from schemas.limits import MAX_SESSION

if TYPE_CHECKING:
    from graphql_api.context import Services

# Landing sends sessions longer than MAX_SESSION to the DLQ (out_of_range), so no session open at
# `from` started earlier: the lower bound that lets the concurrency scan use (game_id, started_at).


async def session_stats(db: Database, game_id: str, start: datetime, end: datetime) -> Sessions:
    r = time_range(start, end, "sessions")
    rows = await db.fetch(
        """
        SELECT count(*), count(ended_at), avg(len),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY len), percentile_cont(0.9) WITHIN GROUP (ORDER BY len)
        FROM (SELECT ended_at, coalesce(duration_s, extract(epoch FROM last_event_at - started_at))::float8 AS len
              FROM sessions WHERE game_id = %s AND started_at >= %s AND started_at < %s) s
        """,
        (game_id, r.start, r.end),
    )
    count, ended, mean, median, p90 = rows[0]
    return Sessions(game_id=game_id, start=r.start, end=r.end, count=count, ended=ended,
                    mean_seconds=float(mean) if mean is not None else None,
                    median_seconds=median, p90_seconds=p90)


async def concurrent_players(services: Services, game_id: str, start: datetime, end: datetime,
                             bucket: Bucket) -> list[ConcurrencyPoint]:
    """A sweep over session starts (+1) and ends (-1), with a 0 at each bucket start to carry the level in."""
    r = time_range(start, end, "concurrentPlayers")
    starts = bucket_starts(r, bucket, services.gql.max_points, "concurrentPlayers")
    rows = await services.db.fetch(
        """
        WITH s AS (
            SELECT started_at AS a, greatest(coalesce(ended_at, last_event_at), started_at) AS b
            FROM sessions
            WHERE game_id = %(game)s AND started_at < %(end)s AND started_at >= %(earliest)s
              AND coalesce(ended_at, last_event_at) >= %(start)s
        ), d AS (
            SELECT greatest(a, %(start)s) AS t, 1 AS delta FROM s
            UNION ALL SELECT b, -1 FROM s WHERE b < %(end)s
            UNION ALL SELECT greatest(x, %(start)s), 0 FROM unnest(%(starts)s::timestamptz[]) AS x
        ), levels AS (
            SELECT t, sum(delta) OVER (ORDER BY t, delta DESC ROWS UNBOUNDED PRECEDING) AS level FROM d
        )
        SELECT date_bin(%(width)s, t, %(origin)s), max(level) FROM levels WHERE t < %(end)s GROUP BY 1
        """,
        {"game": game_id, "start": r.start, "end": r.end, "earliest": r.start - MAX_SESSION, "starts": starts,
         "width": bucket.width, "origin": BUCKET_ORIGIN},
    )
    peaks = {b: int(level) for b, level in rows}
    return [ConcurrencyPoint(start=s, peak=peaks.get(s, 0)) for s in starts]
