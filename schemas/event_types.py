"""The standard event types and the properties each requires. Pure data and checks.

Free types are ``custom.<name>``; any other type is rejected. Semantic checks that need the
database (known currency rates, per-game rules) belong to the processors, not here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import pycountry

CUSTOM_PREFIX = "custom."


@cache
def is_currency(code: str) -> bool:
    return len(code) == 3 and code.isupper() and pycountry.currencies.get(alpha_3=code) is not None


@cache
def is_country(code: str) -> bool:
    return len(code) == 2 and code.isupper() and pycountry.countries.get(alpha_2=code) is not None


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


@dataclass(frozen=True)
class Prop:
    """A required property: its name, a check, and how to say what it must be."""

    name: str
    check: Callable[[Any], bool]
    must_be: str


def _string(v: Any) -> bool:
    return isinstance(v, str) and 0 < len(v) <= 128


def _one_of(*choices: str) -> Callable[[Any], bool]:
    return lambda v: v in choices


def _non_negative(v: Any) -> bool:
    return _is_number(v) and v >= 0


def _level(v: Any) -> bool:
    return _string(v) or (isinstance(v, int) and not isinstance(v, bool) and v >= 0)


STANDARD_EVENT_TYPES: dict[str, tuple[Prop, ...]] = {
    "session_start": (),
    "session_end": (Prop("duration_s", _non_negative, "a number of seconds >= 0"),),
    "progression": (
        Prop("level", _level, "a level name or a number >= 0"),
        Prop("status", _one_of("start", "complete", "fail"), "one of start, complete, fail"),
    ),
    "purchase": (
        Prop("item_id", _string, "a string"),
        Prop("amount", _non_negative, "a price >= 0 in the given currency"),
        Prop("currency", lambda v: isinstance(v, str) and is_currency(v), "an ISO 4217 code such as USD"),
    ),
    "resource": (
        Prop("flow", _one_of("source", "sink"), "one of source, sink"),
        Prop("currency", _string, "the name of the in-game currency"),
        Prop("amount", _non_negative, "a number >= 0"),
    ),
    "item_acquired": (Prop("item_id", _string, "a string"),),
    "match_result": (
        Prop("mode", _string, "a game mode name"),
        Prop("outcome", _one_of("win", "loss", "draw"), "one of win, loss, draw"),
    ),
    "achievement": (Prop("achievement_id", _string, "a string"),),
    "ad_impression": (),
    "error": (
        Prop("severity", _one_of("debug", "info", "warning", "error", "critical"), "one of debug, info, warning, error, critical"),
        Prop("message", lambda v: isinstance(v, str) and 0 < len(v) <= 1024, "a string of at most 1024 characters"),
    ),
}


def check_event_type(prefix: str, event_type: str, properties: dict[str, Any], errors: list[str]) -> None:
    """Append a reason for each missing or malformed required property of ``event_type``."""
    if event_type.startswith(CUSTOM_PREFIX):
        return
    props = STANDARD_EVENT_TYPES.get(event_type)
    if props is None:
        errors.append(
            f"{prefix}.event_type: {event_type!r} is not a standard type "
            f"({', '.join(STANDARD_EVENT_TYPES)}); name free types custom.<name>"
        )
        return
    for prop in props:
        if prop.name not in properties:
            errors.append(f"{prefix}.properties.{prop.name}: required for {event_type}, {prop.must_be}")
        elif not prop.check(properties[prop.name]):
            errors.append(f"{prefix}.properties.{prop.name}: {properties[prop.name]!r:.40} is not {prop.must_be}")
