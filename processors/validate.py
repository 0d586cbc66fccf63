"""Step 2, validate: semantic checks the ingest cannot do alone. Pure.

The raw topic may be written by other producers than our ingest, so the per-type required
properties are checked again, and so is everything PostgreSQL would refuse for the whole
transaction (a NUL character in any text, an event id that is not a UUID, a time outside what
timestamptz holds): one such event must never take the good events beside it to the DLQ. Then
what needs the database (a currency we can convert) and value ranges that mark corrupt or
fraudulent data. Each failure is one event, typed for the DLQ, with the field named.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import re

from schemas.event_types import check_event_type
from schemas.limits import MAX_SESSION_S, TIMESTAMPTZ_MAX_MS, TIMESTAMPTZ_MIN_MS

INVALID_EVENT = "invalid_event"
UNKNOWN_CURRENCY = "unknown_currency"
OUT_OF_RANGE = "out_of_range"


@dataclass(frozen=True)
class ValueLimits:
    """Values beyond these are refused as corrupt, not stored."""

    max_purchase_usd: float = 10_000.0
    max_session_s: float = MAX_SESSION_S
    max_resource_amount: float = 1e12
    max_level: int = 1_000_000


LIMITS = ValueLimits()


@dataclass(frozen=True)
class Invalid:
    index: int
    event_id: str
    error_type: str
    detail: str


def _range_problem(event: dict[str, Any], usd_per_unit: Mapping[str, float], limits: ValueLimits) -> str | None:
    props = event["properties"]
    kind = event["event_type"]
    if kind == "purchase":
        usd = float(props["amount"]) * usd_per_unit[props["currency"]]
        if usd > limits.max_purchase_usd:
            return f"properties.amount: {props['amount']} {props['currency']} is {usd:,.2f} USD, above the {limits.max_purchase_usd:,.0f} USD limit"
    elif kind == "session_end" and float(props["duration_s"]) > limits.max_session_s:
        return f"properties.duration_s: {props['duration_s']} is longer than {limits.max_session_s:.0f} s"
    elif kind == "resource" and float(props["amount"]) > limits.max_resource_amount:
        return f"properties.amount: {props['amount']} is above {limits.max_resource_amount:g}"
    elif kind == "progression" and isinstance(props["level"], int) and props["level"] > limits.max_level:
        return f"properties.level: {props['level']} is above {limits.max_level}"
    return None


_UUID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")
_TEXT_FIELDS = ("event_type", "player_id", "session_id", "platform", "app_version", "country")
_TIME_FIELDS = ("ts", "event_time")


def _storage_problem(event: dict[str, Any]) -> str | None:
    """What PostgreSQL would refuse in this event (for the whole transaction), or None."""
    if not _UUID.fullmatch(str(event["event_id"])):
        return f"event_id: {str(event['event_id'])[:64]!r} is not a UUID"
    for name in _TEXT_FIELDS:
        value = event[name]
        if value is not None and "\x00" in value:
            return f"{name}: contains a NUL character (\\u0000), which PostgreSQL text cannot store"
    for key, value in event["properties"].items():
        if "\x00" in key:
            return f"properties: a key contains a NUL character (\\u0000), which PostgreSQL text cannot store"
        if isinstance(value, str) and "\x00" in value:
            return f"properties.{key}: contains a NUL character (\\u0000), which PostgreSQL text cannot store"
    for name in _TIME_FIELDS:
        if not TIMESTAMPTZ_MIN_MS <= event[name] <= TIMESTAMPTZ_MAX_MS:
            return f"{name}: {event[name]} ms since the epoch is outside the times PostgreSQL can store"
    return None


def validate(
    events: list[dict[str, Any]], usd_per_unit: Mapping[str, float], limits: ValueLimits = LIMITS
) -> tuple[list[dict[str, Any]], list[Invalid]]:
    """Split a batch's events into valid ones and typed failures, keeping order."""
    valid: list[dict[str, Any]] = []
    invalid: list[Invalid] = []
    for index, event in enumerate(events):
        event_id = str(event["event_id"])
        stored_badly = _storage_problem(event)
        if stored_badly:
            invalid.append(Invalid(index, event_id, INVALID_EVENT, f"events[{index}].{stored_badly}"))
            continue
        errors: list[str] = []
        check_event_type(f"events[{index}]", event["event_type"], event["properties"], errors)
        if errors:
            invalid.append(Invalid(index, event_id, INVALID_EVENT, "; ".join(errors)))
            continue
        if event["event_type"] == "purchase" and event["properties"]["currency"] not in usd_per_unit:
            invalid.append(Invalid(
                index, event_id, UNKNOWN_CURRENCY,
                f"events[{index}].properties.currency: {event['properties']['currency']} has no rate in currency_rates; "
                "add it with `gamemetrics currencies set` and replay this dead letter",
            ))
            continue
        problem = _range_problem(event, usd_per_unit, limits)
        if problem:
            invalid.append(Invalid(index, event_id, OUT_OF_RANGE, f"events[{index}].{problem}"))
            continue
        valid.append(event)
    return valid, invalid
