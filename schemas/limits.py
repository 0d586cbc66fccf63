"""Limits more than one stage relies on, in one place (the contract the data on the wire keeps).

    MAX_SESSION_S              landing refuses a session_end longer than this (out_of_range), so
                               the API may assume no open session started earlier
    EVENT_FUTURE_TOLERANCE_S   how far after server time a skew-corrected event time may be
    EVENT_PAST_HORIZON_S       how far before server time it may be (ingest's defaults; landing
                               refuses times outside the widest window PostgreSQL can store)
    TIMESTAMPTZ_MIN_MS/MAX_MS  epoch milliseconds PostgreSQL's timestamptz can hold
"""

from __future__ import annotations

from datetime import timedelta

MAX_SESSION = timedelta(days=7)
MAX_SESSION_S = MAX_SESSION.total_seconds()

EVENT_FUTURE_TOLERANCE_S = 24 * 3600
EVENT_PAST_HORIZON_S = 30 * 24 * 3600

# 4713-01-01 BC and 294276-12-31 AD, PostgreSQL's documented timestamptz range, a day inside each end
TIMESTAMPTZ_MIN_MS = -210_866_803_200_000 + 86_400_000
TIMESTAMPTZ_MAX_MS = 9_224_318_016_000_000 - 86_400_000
