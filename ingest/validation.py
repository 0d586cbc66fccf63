"""Per-event validation: raw JSON events in, Avro-ready PlayerEvent records and reasons out.

Pure: no I/O. Each event is checked on its own, so one bad event never rejects its neighbours.
Reasons name the event and field: ``events[3].ts: not an RFC 3339 time or epoch milliseconds``.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, cast

from schemas.event_types import check_event_type, is_country
from schemas.limits import EVENT_FUTURE_TOLERANCE_S, EVENT_PAST_HORIZON_S

# Patterns that validate input are used with fullmatch only (``$`` also matches before a final newline).
EVENT_TYPE = re.compile(r"[a-z][a-z0-9_]{0,63}|custom\.[A-Za-z0-9_.:-]{1,64}")
# The canonical form (what every client library prints) is taken as is; anything else goes through uuid.UUID.
CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
MAX_ID_LENGTH = 128
MAX_PROPERTIES = 64
MAX_PROPERTY_KEY = 64
MAX_STRING_VALUE = 1024
OPTIONAL_STRINGS = ("session_id", "platform", "app_version", "country")
# Times are epoch milliseconds from 1970-01-01T00:00:00Z up to 9999-12-31T23:59:59.999Z (what a
# calendar, Python and PostgreSQL all hold); anything else is no time at all.
MAX_TIME_MS = 253_402_300_799_999
NUL = "\x00"  # PostgreSQL text and jsonb cannot store U+0000 (lone surrogates are refused with the JSON)
KNOWN_FIELDS = frozenset(("event_id", "event_type", "player_id", "ts", "properties", *OPTIONAL_STRINGS))


@dataclass(frozen=True)
class TimeLimits:
    """How far from server time a (skew-corrected) event time may be."""

    future_ms: int = EVENT_FUTURE_TOLERANCE_S * 1000
    past_ms: int = EVENT_PAST_HORIZON_S * 1000


DEFAULT_LIMITS = TimeLimits()


@dataclass
class Rejection:
    index: int
    event_id: str | None
    errors: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"index": self.index, "event_id": self.event_id, "errors": self.errors}


def parse_time_ms(value: Any) -> int | None:
    """RFC 3339 string or epoch milliseconds -> epoch milliseconds; None when neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= MAX_TIME_MS else None
    if isinstance(value, float) and value.is_integer():
        return parse_time_ms(int(value))
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        if parsed.tzinfo is None:
            return None
        try:
            ms = int(parsed.timestamp() * 1000)
        except (OverflowError, ValueError):  # e.g. 0001-01-01T00:00:00+23:59 is before year 1 in UTC
            return None
        return ms if 0 <= ms <= MAX_TIME_MS else None
    return None


def normalize_event_id(value: str) -> str | None:
    """An event id in the canonical UUID form, or None when ``value`` is no UUID."""
    if CANONICAL_UUID.fullmatch(value):
        return value
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def _flat(value: Any) -> bool:
    """A property value that needs no further check: bool, float, a 64-bit int or a short string."""
    kind = type(value)
    if kind is str:
        return len(value) <= MAX_STRING_VALUE and NUL not in value
    if kind is int:
        return -(2**63) <= value < 2**63
    return kind is float or kind is bool


def _check_properties(prefix: str, props: Any, errors: list[str]) -> dict[str, Any]:
    if props is None:
        return {}
    if type(props) is dict and len(props) <= MAX_PROPERTIES and all(
        len(k) <= MAX_PROPERTY_KEY and NUL not in k and _flat(v) for k, v in props.items()
    ):
        return props  # the common case: nothing to report, nothing to drop
    if not isinstance(props, dict):
        errors.append(f"{prefix}.properties: must be an object of string/number/bool values")
        return {}
    if len(props) > MAX_PROPERTIES:
        errors.append(f"{prefix}.properties: {len(props)} keys, at most {MAX_PROPERTIES} allowed")
        return {}
    clean: dict[str, Any] = {}
    for key, value in props.items():
        if len(key) > MAX_PROPERTY_KEY:
            errors.append(f"{prefix}.properties: key {key[:20]!r}... is longer than {MAX_PROPERTY_KEY}")
        elif NUL in key:
            errors.append(_nul(f"{prefix}.properties"))
        elif isinstance(value, str) and NUL in value:
            errors.append(_nul(f"{prefix}.properties.{key}"))
        elif isinstance(value, bool | int | float) or (isinstance(value, str) and len(value) <= MAX_STRING_VALUE):
            if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
                errors.append(f"{prefix}.properties.{key}: integer out of the 64-bit range")
            else:
                clean[key] = value
        elif isinstance(value, str):
            errors.append(f"{prefix}.properties.{key}: string longer than {MAX_STRING_VALUE} characters")
        else:
            errors.append(
                f"{prefix}.properties.{key}: {type(value).__name__} is not allowed; values are flat "
                "strings, numbers or booleans"
            )
    return clean


def _nul(where: str) -> str:
    return f"{where}: contains a NUL character (\\u0000), which PostgreSQL cannot store"


def iso_ms(ms: int) -> str:
    """An ISO time for messages; a time outside the calendar (after skew correction) says so instead of raising."""
    if not 0 <= ms <= MAX_TIME_MS:
        return f"{ms} ms since 1970 (outside 1970..9999)"
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def reason_field(error: str) -> str:
    """The field an error is about, for metric labels: ``events[3].ts: ...`` -> ``ts``."""
    head = error.split(":", 1)[0]
    path = head.split("].", 1)[1] if "]." in head else "event"
    return path.split(".", 1)[0]


def validate_event(
    index: int, raw: Any, received_at_ms: int, skew_ms: int, limits: TimeLimits = DEFAULT_LIMITS
) -> dict[str, Any] | Rejection:
    """One raw event -> a PlayerEvent record (dict) or a Rejection listing every problem."""
    prefix = f"events[{index}]"
    if not isinstance(raw, dict):
        return Rejection(index, None, [f"{prefix}: must be a JSON object, got {type(raw).__name__}"])
    errors: list[str] = []
    event_id_raw = raw.get("event_id")
    event_id = normalize_event_id(event_id_raw) if isinstance(event_id_raw, str) else None
    if event_id is None:
        errors.append(f"{prefix}.event_id: required, a UUID string (got {event_id_raw!r:.60})")
    event_type = raw.get("event_type")
    type_ok = isinstance(event_type, str) and EVENT_TYPE.fullmatch(event_type) is not None
    if not type_ok:
        errors.append(
            f"{prefix}.event_type: required, lower_snake_case or custom.<name> (got {event_type!r:.60})"
        )
    player_id = raw.get("player_id")
    if not isinstance(player_id, str) or not 0 < len(player_id) <= MAX_ID_LENGTH:
        errors.append(f"{prefix}.player_id: required, a string of 1 to {MAX_ID_LENGTH} characters")
    elif NUL in player_id:
        errors.append(_nul(f"{prefix}.player_id"))
    ts = parse_time_ms(raw.get("ts"))
    if ts is None:
        errors.append(f"{prefix}.ts: required, an RFC 3339 time with offset or epoch milliseconds (got {raw.get('ts')!r:.60})")
    elif ts + skew_ms > received_at_ms + limits.future_ms:
        errors.append(
            f"{prefix}.ts: {iso_ms(ts + skew_ms)} (after clock-skew correction) is more than "
            f"{limits.future_ms // 3_600_000}h in the future (server time {iso_ms(received_at_ms)})"
        )
    elif ts + skew_ms < received_at_ms - limits.past_ms:
        errors.append(
            f"{prefix}.ts: {iso_ms(ts + skew_ms)} (after clock-skew correction) is older than the "
            f"{limits.past_ms // 86_400_000}-day horizon (server time {iso_ms(received_at_ms)})"
        )
    optional: dict[str, str | None] = {}
    for name in OPTIONAL_STRINGS:
        value = raw.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > MAX_ID_LENGTH):
            errors.append(f"{prefix}.{name}: must be a string of at most {MAX_ID_LENGTH} characters")
        elif isinstance(value, str) and NUL in value:
            errors.append(_nul(f"{prefix}.{name}"))
        optional[name] = value if isinstance(value, str) else None
    if optional["country"] is not None and not is_country(optional["country"]):
        errors.append(f"{prefix}.country: {optional['country']!r} is not an ISO 3166-1 alpha-2 code such as DE")
    unknown = () if KNOWN_FIELDS.issuperset(raw) else sorted(set(raw) - KNOWN_FIELDS)
    if unknown:
        errors.append(f"{prefix}: unknown fields {', '.join(unknown)}; put custom data in properties")
    properties = _check_properties(prefix, raw.get("properties"), errors)
    if type_ok and isinstance(raw.get("properties", {}), dict | None):
        check_event_type(prefix, event_type, properties, errors)
    if errors:
        return Rejection(index, event_id or (event_id_raw if isinstance(event_id_raw, str) else None), errors)
    ts = cast(int, ts)  # errors is empty, so ts parsed
    return {
        "event_id": event_id,
        "event_type": event_type,
        "player_id": player_id,
        "ts": ts,
        "event_time": ts + skew_ms,
        **optional,
        "properties": properties,
    }


def validate_batch(
    events: list[Any], received_at_ms: int, sent_at_ms: int | None, limits: TimeLimits = DEFAULT_LIMITS
) -> tuple[list[dict[str, Any]], list[Rejection]]:
    """Split a request's events into accepted records and rejections, keeping request order."""
    skew_ms = received_at_ms - sent_at_ms if sent_at_ms is not None else 0
    accepted: list[dict[str, Any]] = []
    rejected: list[Rejection] = []
    for index, raw in enumerate(events):
        result = validate_event(index, raw, received_at_ms, skew_ms, limits)
        (rejected if isinstance(result, Rejection) else accepted).append(result)  # type: ignore[arg-type]
    return accepted, rejected
