"""Step 2, validate: semantic checks the ingest cannot do alone. Pure.

The raw topic may be written by other producers than our ingest, so the per-type required
properties are checked again; then what needs the database (a currency we can convert) and value
ranges that mark corrupt or fraudulent data. Each failure is one event, typed for the DLQ.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from schemas.event_types import check_event_type

INVALID_EVENT = "invalid_event"
UNKNOWN_CURRENCY = "unknown_currency"
OUT_OF_RANGE = "out_of_range"


@dataclass(frozen=True)
class ValueLimits:
    """Values beyond these are refused as corrupt, not stored."""

    max_purchase_usd: float = 10_000.0
    max_session_s: float = 7 * 24 * 3600.0
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


def validate(
    events: list[dict[str, Any]], usd_per_unit: Mapping[str, float], limits: ValueLimits = LIMITS
) -> tuple[list[dict[str, Any]], list[Invalid]]:
    """Split a batch's events into valid ones and typed failures, keeping order."""
    valid: list[dict[str, Any]] = []
    invalid: list[Invalid] = []
    for index, event in enumerate(events):
        event_id = str(event["event_id"])
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
