"""The GraphQL types of the API (Strawberry). Descriptions here are the schema's documentation.

Data only: nothing here resolves a field. A type with a field that runs a query (``Game``,
``Sessions``, ``Player``) lives beside that query in ``graphql_api/analytics/``, so this module
imports nothing of the API above it.

Every field that reaches the store carries a ``@cost`` weight, roughly its share of database
work; ``graphql_api.limits`` adds up the weights of an operation (fragments expanded, aliases
counted each time) and refuses it over the limit before anything runs. Lists are not
multiplied: a listed object's costed field is batched into one query (DataLoader).
"""

from __future__ import annotations

import enum
import re
from datetime import date, datetime, timedelta
from typing import NewType

import strawberry
from strawberry.scalars import JSON
from strawberry.schema_directive import Location

from graphql_api.ranges import Bucket, Granularity

strawberry.enum(Bucket, description="Width of a time bucket, aligned to UTC (weeks start on Monday).")
strawberry.enum(Granularity, description="Calendar grain of day-based metrics, in UTC (ISO weeks, calendar months).")


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION],
    description="Cost points of resolving this field; the operation's total must stay under the server's limit.",
)
class Cost:
    weight: int


_DURATION = re.compile(r"^(\d+)([smhd])$")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: object) -> timedelta:
    match = _DURATION.match(str(value).strip()) if isinstance(value, str) else None
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"{value!r} is not a duration like 90s, 30m, 24h or 7d")
    return timedelta(seconds=int(match.group(1)) * _DURATION_UNITS[match.group(2)])


def format_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


Duration = NewType("Duration", timedelta)
SCALAR_MAP = {
    Duration: strawberry.scalar(
        name="Duration", serialize=format_duration, parse_value=parse_duration,
        description="A positive length of time: a whole number and a unit, e.g. 90s, 30m, 24h, 7d.",
    ),
}


@strawberry.type(description="The caller, as their token says.")
class Viewer:
    subject: str
    role: str = strawberry.field(description="analyst or admin.")
    games: list[str] = strawberry.field(description="Game ids the token covers; ['*'] = every game.")
    expires_at: datetime


# --- event counts -----------------------------------------------------------------------------


@strawberry.type
class EventTypeCount:
    event_type: str
    events: int


@strawberry.type
class EventCountPoint:
    start: datetime = strawberry.field(description="Start of the bucket (UTC).")
    events: int
    by_type: list[EventTypeCount] = strawberry.field(description="Events of the bucket per event type, most first.")


@strawberry.input(description="A property of the event's `properties` equal to a value (compared as text).")
class PropertyMatch:
    key: str
    value: str


@strawberry.input(description="Only events whose dimensions match: each list given must contain the event's value.")
class MetricFilter:
    platform: list[str] | None = None
    country: list[str] | None = None
    app_version: list[str] | None = None
    property: PropertyMatch | None = None


@strawberry.type(description="Events per bucket, from the per-minute rollup (event time, UTC).")
class EventCounts:
    game_id: str
    bucket: Bucket
    start: datetime = strawberry.field(name="from")
    end: datetime = strawberry.field(name="to")
    event_types: list[str] | None = strawberry.field(description="The filter asked for; null = every type.")
    total: int
    totals_by_type: list[EventTypeCount]
    points: list[EventCountPoint] = strawberry.field(description="One per bucket, empty buckets as zeros.")


# --- active users -----------------------------------------------------------------------------


@strawberry.type
class ActiveUsersPoint:
    start: date = strawberry.field(description="First day of the bucket (UTC).")
    days: int = strawberry.field(description="Days of the bucket inside the range (partial buckets have fewer).")
    active_users: int = strawberry.field(description="Distinct players with an event on a day of the bucket in range.")


@strawberry.type(description="DAU/MAU over the 30 UTC days ending the day before `to`.")
class Stickiness:
    window_start: date
    window_end: date = strawberry.field(description="Exclusive.")
    average_dau: float = strawberry.field(description="Mean of the 30 daily active user counts.")
    mau: int = strawberry.field(description="Distinct players active in the 30 days.")
    ratio: float | None = strawberry.field(description="average_dau / mau; null when nobody was active.")


@strawberry.type(description="Active users per DAY, WEEK or MONTH (DAU, WAU, MAU) from player_daily_activity.")
class ActiveUsers:
    game_id: str
    granularity: Granularity
    start: date = strawberry.field(name="from")
    end: date = strawberry.field(name="to", description="Exclusive.")
    points: list[ActiveUsersPoint]
    stickiness: Stickiness


# --- retention --------------------------------------------------------------------------------


@strawberry.type
class RetentionDay:
    day: int = strawberry.field(description="N of day-N retention.")
    retained: int | None = strawberry.field(description="Players of the cohort active on cohort day + N; null until that day is over.")
    rate: float | None = strawberry.field(description="retained / cohort players; null until cohort day + N is over.")


@strawberry.type
class RetentionCohort:
    cohort: date = strawberry.field(description="Day the players were first seen (UTC).")
    players: int
    days: list[RetentionDay]


@strawberry.type(description="Classic day-N retention: of the players first seen on a day, the share active exactly N days later.")
class Retention:
    game_id: str
    days: list[int]
    cohorts: list[RetentionCohort] = strawberry.field(description="One per cohort day in range, empty cohorts included.")
    average: list[RetentionDay] = strawberry.field(
        description="Per N, over the cohorts whose day N is over, weighted by cohort size."
    )


# --- funnel -----------------------------------------------------------------------------------


@strawberry.enum
class ProgressionStatus(enum.Enum):
    START = "start"
    COMPLETE = "complete"
    FAIL = "fail"


@strawberry.input(description="A `progression` event of one level and status.")
class ProgressionStepInput:
    level: str
    status: ProgressionStatus = ProgressionStatus.COMPLETE


@strawberry.input(one_of=True, description="One funnel step: an event type, or a progression step.")
class FunnelStepInput:
    event_type: str | None = strawberry.UNSET
    progression: ProgressionStepInput | None = strawberry.UNSET


@strawberry.type
class FunnelStep:
    index: int = strawberry.field(description="1-based.")
    label: str
    players: int = strawberry.field(description="Players who reached this step in order, within the window.")
    conversion: float = strawberry.field(description="players / players of step 1 (0 when step 1 has none).")
    step_conversion: float = strawberry.field(description="players / players of the previous step.")
    median_seconds_from_previous: float | None


@strawberry.type(description=(
    "Ordered funnel over raw events: a player enters at their first step-1 event in [from, to); each next step "
    "is the first matching event strictly after the previous step, no later than `within` after entering."
))
class Funnel:
    game_id: str
    start: datetime = strawberry.field(name="from")
    end: datetime = strawberry.field(name="to")
    within: Duration
    steps: list[FunnelStep]


# --- revenue ----------------------------------------------------------------------------------


@strawberry.type
class RevenuePoint:
    start: date
    days: int = strawberry.field(description="Days of the bucket inside the range.")
    revenue_usd: float
    paying_users: int = strawberry.field(description="Distinct players with revenue in the bucket.")
    active_users: int = strawberry.field(description="Distinct players active in the bucket.")
    arpdau: float | None = strawberry.field(description="Revenue per daily active user: revenue / sum of the days' DAU.")
    arppu: float | None = strawberry.field(description="Revenue per paying user: revenue / paying_users.")
    conversion: float | None = strawberry.field(description="paying_users / active_users.")


@strawberry.type(description="Revenue in USD (converted at landing) per DAY, WEEK or MONTH, from player_daily_activity.")
class Revenue:
    game_id: str
    bucket: Granularity
    start: date = strawberry.field(name="from")
    end: date = strawberry.field(name="to", description="Exclusive.")
    total: RevenuePoint = strawberry.field(description="The whole range as one bucket.")
    points: list[RevenuePoint]


# --- fairness ---------------------------------------------------------------------------------


@strawberry.type
class ModeOutcomes:
    mode: str
    matches: int = strawberry.field(description="match_result events (one per player and match).")
    wins: int
    losses: int
    draws: int
    win_rate: float
    loss_rate: float
    draw_rate: float


@strawberry.type(description="Outcomes of match_result events per mode, from the hourly rollup (hours starting in range).")
class Fairness:
    game_id: str
    start: datetime = strawberry.field(name="from")
    end: datetime = strawberry.field(name="to")
    modes: list[ModeOutcomes]


# --- pipeline ---------------------------------------------------------------------------------


@strawberry.type
class PartitionLag:
    partition: int
    committed: int | None = strawberry.field(description="Committed offset of the landing group; null = none yet.")
    end: int = strawberry.field(description="High watermark of the partition.")
    lag: int


@strawberry.type
class DeadLetterCount:
    error_type: str
    count: int


@strawberry.type(description="Health of the landing pipeline.")
class Pipeline:
    consumer_group: str
    topic: str
    consumer_lag: int = strawberry.field(description="Messages of player.events.raw not yet committed by the landing workers.")
    partitions: list[PartitionLag]
    last_landed_event_time: datetime | None = strawberry.field(
        description="Event time of the newest landed event of the caller's games."
    )
    last_landed_at: datetime | None = strawberry.field(description="When that event was landed.")
    dead_letters_total: int
    dead_letters: list[DeadLetterCount] = strawberry.field(description="Records of system.dlq by error type (whole deployment).")
    replica_lag_seconds: float | None = strawberry.field(
        default=None,
        description="How far the read replica the API queries is behind the primary (0 when it has replayed all it"
        " received); null when reads go to the primary (no GAMEMETRICS_DATABASE_READ_URL).",
    )


# --- live -------------------------------------------------------------------------------------


@strawberry.type(description="Live numbers of a game, computed in memory from player.events.processed.")
class LiveMetrics:
    game_id: str
    at: datetime = strawberry.field(description="When this snapshot was taken.")
    second: datetime = strawberry.field(description="The second `eventsPerSecond` counts (it lags `at` by ~2 s so late messages land in it).")
    events_per_second: int
    events_last_minute: int
    active_players_5m: int = strawberry.field(description="Distinct players with an event landed in the last 5 minutes.")
    revenue_last_minute_usd: float
    warming_up: bool = strawberry.field(description="True until the server has read back the last 5 minutes after a restart.")


@strawberry.type
class LiveEvent:
    event_id: str
    event_type: str
    player_id: str
    event_time: datetime
    processed_at: datetime
    session_id: str | None
    platform: str | None
    app_version: str | None
    country: str | None
    properties: JSON
    revenue_usd: float | None
    is_new_player: bool
    session_seq: int | None
    delay_ms: int | None


@strawberry.type(description="Processed events that arrived since the previous message.")
class LiveEventBatch:
    events: list[LiveEvent]
    dropped: int = strawberry.field(
        description="Events this subscriber missed since the previous message because it read too slowly."
    )


# --- admin ------------------------------------------------------------------------------------


@strawberry.type
class CreatedGame:
    game_id: str
    name: str
    api_key: str = strawberry.field(description="Shown once; only its hash is stored.")


@strawberry.type
class RotatedKey:
    game_id: str
    api_key: str = strawberry.field(description="Shown once; only its hash is stored.")
    previous_keys_expire_at: datetime


@strawberry.type
class CurrencyRate:
    currency: str
    usd_per_unit: float
