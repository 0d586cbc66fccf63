"""Time ranges and buckets (``graphql_api/ranges.py``): UTC, half-open, aligned, bounded."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from graphql_api.ranges import Bucket, DayRange, Granularity, bucket_starts, day_buckets, time_range
from graphql_api.errors import BadArgument

UTC = timezone.utc


def test_offsets_become_utc_and_naive_times_are_utc():
    r = time_range(datetime(2026, 1, 1, 12, tzinfo=timezone(timedelta(hours=2))), datetime(2026, 1, 1, 12), "q")
    assert r.start == datetime(2026, 1, 1, 10, tzinfo=UTC) and r.end == datetime(2026, 1, 1, 12, tzinfo=UTC)


def test_weeks_start_on_monday_and_buckets_cover_the_range():
    r = time_range(datetime(2026, 9, 9, 15, tzinfo=UTC), datetime(2026, 9, 22, tzinfo=UTC), "q")  # a Wednesday
    assert bucket_starts(r, Bucket.WEEK, 100, "q") == [datetime(2026, 9, 7, tzinfo=UTC), datetime(2026, 9, 14, tzinfo=UTC),
                                                        datetime(2026, 9, 21, tzinfo=UTC)]
    assert len(bucket_starts(r, Bucket.HOUR, 1000, "q")) == 12 * 24 + 9


def test_too_many_buckets_is_a_clear_error():
    r = time_range(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC), "eventCounts")
    with pytest.raises(BadArgument, match="by MINUTE is 1440 buckets, over the limit of 1000; use a larger bucket"):
        bucket_starts(r, Bucket.MINUTE, 1000, "eventCounts")


def test_calendar_buckets_report_the_days_inside_the_range():
    r = DayRange(date(2026, 1, 30), date(2026, 3, 2))
    assert day_buckets(r, Granularity.MONTH, 10, "q") == [(date(2026, 1, 1), 2), (date(2026, 2, 1), 28), (date(2026, 3, 1), 1)]
    assert day_buckets(DayRange(date(2026, 12, 31), date(2027, 1, 2)), Granularity.MONTH, 10, "q") == [
        (date(2026, 12, 1), 1), (date(2027, 1, 1), 1)]
