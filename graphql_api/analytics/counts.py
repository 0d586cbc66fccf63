"""``eventCounts``: events per bucket and type, from ``event_rollup_minute``.

With a ``filter`` the rollup (which has no dimensions) cannot answer: the counts come from
``player_events`` (indexed on game_id, event_time), restricted to the range first.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from graphql_api.errors import BadArgument
from graphql_api.ranges import BUCKET_ORIGIN, Bucket, bucket_starts, time_range
from graphql_api.database import Database
from graphql_api.types import EventCountPoint, EventCounts, EventTypeCount, MetricFilter
from store.rollups import EVENTS_PER_MINUTE

MAX_EVENT_TYPES = 50
MAX_FILTER_VALUES = 50

_ROLLUP_SQL = f"""
    SELECT date_bin(%(width)s, bucket, %(origin)s) AS b, event_type, sum(events)::bigint
    FROM {EVENTS_PER_MINUTE.table}
    WHERE game_id = %(game)s AND bucket >= %(start)s AND bucket < %(end)s
      AND (%(types)s::text[] IS NULL OR event_type = ANY(%(types)s::text[]))
    GROUP BY 1, 2
"""

_FILTERED_SQL = """
    SELECT date_bin(%(width)s, event_time, %(origin)s) AS b, event_type, count(*)::bigint
    FROM player_events
    WHERE game_id = %(game)s AND event_time >= %(start)s AND event_time < %(end)s
      AND (%(types)s::text[] IS NULL OR event_type = ANY(%(types)s::text[]))
      AND (%(platforms)s::text[] IS NULL OR platform = ANY(%(platforms)s::text[]))
      AND (%(countries)s::text[] IS NULL OR country = ANY(%(countries)s::text[]))
      AND (%(versions)s::text[] IS NULL OR app_version = ANY(%(versions)s::text[]))
      AND (%(prop_key)s::text IS NULL OR properties ->> %(prop_key)s::text = %(prop_value)s::text)
    GROUP BY 1, 2
"""


def _filter_params(where: MetricFilter) -> dict[str, object]:
    lists = {"platforms": where.platform, "countries": where.country, "versions": where.app_version}
    for name, values in (("platform", where.platform), ("country", where.country), ("appVersion", where.app_version)):
        if values is not None and not 0 < len(values) <= MAX_FILTER_VALUES:
            raise BadArgument(f"filter.{name} must name 1 to {MAX_FILTER_VALUES} values, or be left out for all")
    if where.property is not None and not where.property.key:
        raise BadArgument("filter.property.key must not be empty")
    return {**lists, "prop_key": where.property.key if where.property else None,
            "prop_value": where.property.value if where.property else None}


def _by_count(counts: dict[str, int]) -> list[EventTypeCount]:
    return [EventTypeCount(event_type=t, events=n) for t, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


async def event_counts(db: Database, max_points: int, game_id: str, start: datetime, end: datetime, bucket: Bucket,
                       event_types: list[str] | None, where: MetricFilter | None = None) -> EventCounts:
    r = time_range(start, end, "eventCounts")
    starts = bucket_starts(r, bucket, max_points, "eventCounts")
    if event_types is not None and not 0 < len(event_types) <= MAX_EVENT_TYPES:
        raise BadArgument(f"eventCounts: eventTypes must name 1 to {MAX_EVENT_TYPES} types, or be left out for all")
    params: dict[str, object] = {"width": bucket.width, "origin": BUCKET_ORIGIN, "game": game_id, "start": r.start,
                                 "end": r.end, "types": event_types}
    if where is None:
        rows = await db.fetch(_ROLLUP_SQL, params)
    else:
        rows = await db.fetch(_FILTERED_SQL, {**params, **_filter_params(where)})
    per_bucket: dict[datetime, dict[str, int]] = defaultdict(dict)
    totals: dict[str, int] = defaultdict(int)
    for b, event_type, events in rows:
        per_bucket[b][event_type] = int(events)
        totals[event_type] += int(events)
    points = [
        EventCountPoint(start=s, events=sum(per_bucket[s].values()), by_type=_by_count(per_bucket[s]))
        for s in starts
    ]
    return EventCounts(
        game_id=game_id, bucket=bucket, start=r.start, end=r.end, event_types=event_types,
        total=sum(totals.values()), totals_by_type=_by_count(totals), points=points,
    )
