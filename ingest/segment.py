"""Segment's HTTP Tracking API -> our events. Pure: no I/O; the ingest validates what comes out.

A Segment message becomes one raw event of /v1/events' shape, which then goes through the same
validation, skew correction, grouping and Kafka path (``ingest.app``'s ``accept_batch``):

    Segment                         ours
    messageId                       event_id = UUIDv5(SEGMENT_NAMESPACE, messageId): a resend is stored once
    (no messageId)                  event_id = UUIDv5 of the message's canonical JSON
    userId, else anonymousId        player_id
    timestamp (else originalTimestamp, sentAt)   ts; the request's sentAt corrects the clock skew
    context.app.version             app_version
    context.os.name                 platform (lower case)
    context.locale, context.timezone, context.device.*, context.app.build   properties context_locale, ...
    properties / traits             properties (objects flattened a.b, arrays as JSON text)
    track "Order Completed"         purchase (item_id, amount = revenue|total, currency, default USD)
    track "Application Opened"      session_start
    other track "Level Up"          custom.Level_Up (the name in properties.segment_event when changed)
    identify                        custom.identify with the traits (platform/app_version update the player profile)
    page / screen                   custom.page / custom.screen (name, category in properties)
    group                           custom.group (group_id, traits)
    alias                           custom.alias (previous_id); no identity merge

Not carried: context.ip (the ingest hashes the sending address, as for /v1/events), integrations,
context.campaign/referrer/library (library name kept), userId and anonymousId both (userId wins).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from ingest.validation import Rejection

SEGMENT_NAMESPACE = uuid.UUID("5b0a4f8e-4c1e-5f43-9a8e-23d3f1c2a617")
_NAMESPACE_BYTES = SEGMENT_NAMESPACE.bytes
_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}  # RFC 4122 variant bits
TYPES = ("track", "identify", "page", "screen", "group", "alias")
_NOT_NAME = re.compile(r"[^A-Za-z0-9_.:-]+")
MAX_NAME = 64
_FLAT = (str, int, float, bool)
MAX_TEXT = 1024
# context.<object>.<field> -> property, carried when a string or number
CONTEXT_PROPERTIES = (
    ("app", "build", "context_app_build"),
    ("os", "version", "context_os_version"),
    ("device", "model", "context_device_model"),
    ("device", "manufacturer", "context_device_manufacturer"),
    ("library", "name", "context_library"),
)
CONTEXT_TOP = (("locale", "context_locale"), ("timezone", "context_timezone"))


@dataclass(frozen=True)
class Translated:
    events: list[dict[str, Any]]
    """Raw events for ``validate_batch``, in message order (rejected messages left out)."""
    positions: list[int]
    """The message index of each event (to name messages, not events, in the answer)."""
    rejected: list[Rejection]
    """Messages that could not be translated (no player, too large, not an object)."""


def project_settings(write_key: str) -> dict[str, Any]:
    """What Segment's mobile and C# SDKs fetch from their CDN host at start
    (GET /v1/projects/{write key}/settings): only the Segment destination, on the host they were
    given (no ``apiHost`` here, so theirs stays). No key is checked: it echoes what it was given."""
    return {"integrations": {"Segment.io": {"apiKey": write_key}}, "plan": {"track": {}, "identify": {}},
            "edgeFunction": {}, "analyticsNextEnabled": False}


def write_key(authorization: str | None, body_key: Any) -> str | None:
    """The write key: HTTP Basic's user name (Segment's SDKs send ``base64(key + ":")``), else the body's writeKey."""
    if authorization and authorization[:6].lower() == "basic ":
        try:
            user = base64.b64decode(authorization[6:].strip(), validate=False).decode()
        except (ValueError, UnicodeDecodeError):
            user = ""
        key = user.split(":", 1)[0].strip()
        if key:
            return key
    return body_key.strip() if isinstance(body_key, str) and body_key.strip() else None


def uuid5(name: str) -> str:
    """``str(uuid.uuid5(SEGMENT_NAMESPACE, name))`` in a third of its time (on the hot path)."""
    h = hashlib.sha1(_NAMESPACE_BYTES + name.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


def event_id(message: dict[str, Any]) -> str:
    """Deterministic: the same message sent again gets the same id, so it is stored once."""
    message_id = message.get("messageId")
    if isinstance(message_id, str) and message_id:
        return uuid5(message_id)
    return uuid5(orjson.dumps(message, option=orjson.OPT_SORT_KEYS).decode())


@functools.lru_cache(maxsize=4096)  # a game has few event names; each is worked out once
def custom_name(name: str) -> str:
    """``Level Up!`` -> ``custom.Level_Up_``: the characters a custom type allows, at most 64."""
    return "custom." + (_NOT_NAME.sub("_", name.strip())[:MAX_NAME] or "unnamed")


def flatten(values: Any, into: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Segment properties/traits (nested) -> our flat properties: ``a.b`` keys, arrays as JSON text."""
    if type(values) is not dict:
        return into
    if not prefix and not into and all(type(v) in _FLAT for v in values.values()):
        return dict(values)  # the common case: already flat
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flatten(value, into, f"{name}.")
        elif isinstance(value, list):
            into[name] = orjson.dumps(value).decode()[:MAX_TEXT]
        elif value is not None:
            into[name] = value
    return into


def _context(context: Any, properties: dict[str, Any]) -> tuple[str | None, str | None]:
    """(app_version, platform) from Segment's context; its other carried fields into ``properties``."""
    if type(context) is not dict or not context:
        return None, None
    for name, prop in CONTEXT_TOP:
        value = context.get(name)
        if type(value) is str:
            properties.setdefault(prop, value)
    for section, name, prop in CONTEXT_PROPERTIES:
        values = context.get(section)
        if type(values) is dict:
            value = values.get(name)
            if type(value) in (str, int, float):
                properties.setdefault(prop, value)
    app, os_ = context.get("app"), context.get("os")
    version = _text(app.get("version")) if type(app) is dict else None
    os_name = _text(os_.get("name")) if type(os_) is dict else None
    return version, os_name.lower() if os_name else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _typed_track(name: str, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Segment's spec events onto our typed events where one fits; else a custom event."""
    if name == "Order Completed":
        amount = props.get("revenue", props.get("total"))
        products = props.get("products")
        first = products[0] if isinstance(products, list) and products and isinstance(products[0], dict) else {}
        item = first.get("product_id") or first.get("sku") or props.get("order_id")
        if isinstance(amount, int | float) and not isinstance(amount, bool) and item is not None:
            typed = flatten({k: v for k, v in props.items() if k not in ("revenue", "total")}, {})
            typed.update(item_id=str(item), amount=amount, currency=props.get("currency") or "USD")
            return "purchase", typed
    elif name == "Application Opened":
        return "session_start", flatten(props, {})
    flat = flatten(props, {})
    custom = custom_name(name)
    if custom[len("custom."):] != name:
        flat["segment_event"] = name[:MAX_TEXT]
    return custom, flat


def translate_message(message: Any, kind: str | None, received_at: int | str | None) -> dict[str, Any] | str:
    """One Segment message -> one raw event, or why it cannot be one. ``kind``: the type the
    endpoint implies (/v1/track) when the message has none; ``received_at``: the fallback time (epoch ms)."""
    if not isinstance(message, dict):
        return f"must be a JSON object, got {type(message).__name__}"
    kind = message.get("type", kind)
    if kind not in TYPES:
        return f"type: {kind!r:.40} is not one of {', '.join(TYPES)}"
    player = _text(message.get("userId")) or _text(message.get("anonymousId"))
    if player is None:
        uid = message.get("userId")
        player = str(uid) if isinstance(uid, int | float) and not isinstance(uid, bool) else None
    if player is None:
        return "userId or anonymousId: one is required"
    properties: dict[str, Any]
    if kind == "track":
        name = message.get("event")
        if not isinstance(name, str) or not name.strip():
            return "event: a track needs the event name"
        event_type, properties = _typed_track(name, message.get("properties") or {})
    elif kind == "identify":
        event_type, properties = "custom.identify", flatten(message.get("traits") or {}, {})
    elif kind in ("page", "screen"):
        event_type, properties = f"custom.{kind}", flatten(message.get("properties") or {}, {})
        for field in ("name", "category"):
            if _text(message.get(field)):
                properties[field] = message[field]
    elif kind == "group":
        event_type, properties = "custom.group", flatten(message.get("traits") or {}, {}, "traits.")
        properties["group_id"] = str(message.get("groupId", ""))
    else:
        event_type, properties = "custom.alias", {"previous_id": str(message.get("previousId", ""))}
    app_version, platform = _context(message.get("context"), properties)
    ts = message.get("timestamp") or message.get("originalTimestamp") or message.get("sentAt") or received_at
    return {
        "event_id": event_id(message),
        "event_type": event_type,
        "player_id": player,
        "ts": ts,
        "app_version": app_version,
        "platform": platform,
        "properties": properties,
    }


def translate(messages: list[Any], kind: str | None, received_at: int | str, sizes: list[int] | None = None,
              max_event_bytes: int = 32 * 1024) -> Translated:
    """A batch's messages -> raw events; a message over ``max_event_bytes`` (its JSON size in
    ``sizes``) is refused on its own, as Segment does, never the batch."""
    events: list[dict[str, Any]] = []
    positions: list[int] = []
    rejected: list[Rejection] = []
    for index, message in enumerate(messages):
        if sizes is not None and sizes[index] > max_event_bytes:
            result: dict[str, Any] | str = f"message of {sizes[index]} bytes is larger than {max_event_bytes} bytes (32 KB)"
        else:
            result = translate_message(message, kind, received_at)
        if isinstance(result, str):
            message_id = message.get("messageId") if isinstance(message, dict) else None
            rejected.append(Rejection(index, message_id if isinstance(message_id, str) else None, [f"batch[{index}]: {result}"]))
        else:
            events.append(result)
            positions.append(index)
    return Translated(events, positions, rejected)


def renumber(rejections: list[Rejection], positions: list[int]) -> list[Rejection]:
    """Validation's rejections name events[i]; the client sent batch[positions[i]]."""
    out = []
    for rejection in rejections:
        index = positions[rejection.index]
        errors = [e.replace(f"events[{rejection.index}]", f"batch[{index}]", 1) for e in rejection.errors]
        out.append(Rejection(index, rejection.event_id, errors))
    return out
