"""``sessions`` (count, mean, median, p90 length) and ``Sessions.concurrentPlayers``, from the
``sessions`` table, with their types."""

from __future__ import annotations

from datetime import datetime, timedelta

import strawberry

from graphql_api.context import Context
from graphql_api.ranges import BUCKET_ORIGIN, Bucket, bucket_starts, time_range
from graphql_api.database import Database
from graphql_api.types import Cost
from store.rollups import SESSIONS

# Landing sends sessions longer than this to the DLQ (out_of_range), so no session open at
# `from` started earlier: the lower bound that lets the concurrency scan use (game_id, started_at).
MAX_SESSION = timedelta(days=7)


@strawberry.type
class ConcurrencyPoint:
    start: datetime
    peak: int = strawberry.field(description="Most sessions open at one instant of the bucket.")


@strawberry.type(description=(
    "Sessions started in [from, to). A session's length is its session_end `duration_s`, or from its start "
    "to its last event while it has no end."
))
class Sessions:
    game_id: str
    start: datetime = strawberry.field(name="from")
    end: datetime = strawberry.field(name="to")
    count: int
    ended: int = strawberry.field(description="Sessions closed by a session_end event.")
    mean_seconds: float | None
    median_seconds: float | None
    p90_seconds: float | None

    @strawberry.field(
        description="Peak concurrent sessions per bucket: open from their start to their end (or last event).",
        directives=[Cost(weight=3)],
    )
    async def concurrent_players(self, info: strawberry.Info[Context, None], bucket: Bucket = Bucket.HOUR) -> list[ConcurrencyPoint]:
        services = info.context.services
        return await concurrent_players(services.db, services.gql.max_points, self.game_id, self.start, self.end, bucket)


async def session_stats(db: Database, game_id: str, start: datetime, end: datetime) -> Sessions:
    r = time_range(start, end, "sessions")
    rows = await db.fetch(
        f"""
        SELECT count(*), count(ended_at), avg(len),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY len), percentile_cont(0.9) WITHIN GROUP (ORDER BY len)
        FROM (SELECT ended_at, coalesce(duration_s, extract(epoch FROM last_event_at - started_at))::float8 AS len
              FROM {SESSIONS.table} WHERE game_id = %s AND started_at >= %s AND started_at < %s) s
        """,
        (game_id, r.start, r.end),
    )
    count, ended, mean, median, p90 = rows[0]
    return Sessions(game_id=game_id, start=r.start, end=r.end, count=count, ended=ended,
                    mean_seconds=float(mean) if mean is not None else None,
                    median_seconds=median, p90_seconds=p90)


async def concurrent_players(db: Database, max_points: int, game_id: str, start: datetime, end: datetime,
                             bucket: Bucket) -> list[ConcurrencyPoint]:
    """A sweep over session starts (+1) and ends (-1), with a 0 at each bucket start to carry the level in."""
    r = time_range(start, end, "concurrentPlayers")
    starts = bucket_starts(r, bucket, max_points, "concurrentPlayers")
    rows = await db.fetch(
        f"""
        WITH s AS (
            SELECT started_at AS a, greatest(coalesce(ended_at, last_event_at), started_at) AS b
            FROM {SESSIONS.table}
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
