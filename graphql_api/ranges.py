"""Time ranges and buckets, all in UTC. Pure.

Every range is half-open, ``[from, to)``. A naive datetime is read as UTC. Buckets are aligned
to UTC: minutes, hours and days on the epoch, weeks on Mondays (ISO), months on the 1st; the
first and last buckets of a range may be partial, and empty buckets are reported as zeros.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from graphql_api.errors import BadArgument

# date_bin origin: a Monday at 00:00 UTC, so weekly buckets start on Mondays (ISO weeks)
BUCKET_ORIGIN = datetime(2000, 1, 3, tzinfo=timezone.utc)


class Bucket(enum.Enum):
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"

    @property
    def width(self) -> timedelta:
        return {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1),
                "week": timedelta(weeks=1)}[self.value]


class Granularity(enum.Enum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True)
class TimeRange:
    start: datetime
    end: datetime


@dataclass(frozen=True)
class DayRange:
    start: date
    end: date  # exclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days


def utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _iso(value: datetime | date) -> str:
    return value.isoformat().replace("+00:00", "Z")


def time_range(start: datetime, end: datetime, what: str) -> TimeRange:
    start, end = utc(start), utc(end)
    if start >= end:
        raise BadArgument(f"{what}: `from` ({_iso(start)}) must be before `to` ({_iso(end)}); `to` is exclusive")
    return TimeRange(start, end)


def day_range(start: date, end: date, what: str, first: str = "from", last: str = "to") -> DayRange:
    if start >= end:
        raise BadArgument(
            f"{what}: `{first}` ({start.isoformat()}) must be before `{last}` ({end.isoformat()}); "
            f"`{last}` is exclusive, so one day is from=D, to=D+1"
        )
    return DayRange(start, end)


def floor_to_bucket(t: datetime, bucket: Bucket) -> datetime:
    steps = (t - BUCKET_ORIGIN) // bucket.width
    return BUCKET_ORIGIN + steps * bucket.width


def bucket_starts(r: TimeRange, bucket: Bucket, max_points: int, what: str) -> list[datetime]:
    first = floor_to_bucket(r.start, bucket)
    count = -(-(r.end - first) // bucket.width)  # ceil
    if count > max_points:
        raise BadArgument(
            f"{what}: {_iso(r.start)} to {_iso(r.end)} by {bucket.name} is {count} buckets, over the limit of "
            f"{max_points}; use a larger bucket or a shorter range"
        )
    return [first + i * bucket.width for i in range(count)]


def floor_day(d: date, granularity: Granularity) -> date:
    if granularity is Granularity.DAY:
        return d
    if granularity is Granularity.WEEK:
        return d - timedelta(days=d.weekday())
    return d.replace(day=1)


def _next(d: date, granularity: Granularity) -> date:
    if granularity is Granularity.DAY:
        return d + timedelta(days=1)
    if granularity is Granularity.WEEK:
        return d + timedelta(weeks=1)
    return date(d.year + d.month // 12, d.month % 12 + 1, 1)


def day_buckets(r: DayRange, granularity: Granularity, max_points: int, what: str) -> list[tuple[date, int]]:
    """(bucket start, days of the bucket inside the range) for each bucket touching the range."""
    out: list[tuple[date, int]] = []
    start = floor_day(r.start, granularity)
    while start < r.end:
        nxt = _next(start, granularity)
        out.append((start, (min(nxt, r.end) - max(start, r.start)).days))
        if len(out) > max_points:
            raise BadArgument(
                f"{what}: {r.start} to {r.end} by {granularity.name} is over the limit of {max_points} buckets"
            )
        start = nxt
    return out
