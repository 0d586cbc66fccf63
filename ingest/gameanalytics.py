"""GameAnalytics' collector API v2 -> our events. Pure: no I/O; the ingest validates what comes out.

Every request is signed: ``Authorization`` = base64(HMAC-SHA256(secret key, raw body)), over the
gzipped bytes when the body is gzipped (``signature_ok``). An event becomes one raw event of
/v1/events' shape, then the same validation and Kafka path (``ingest.app``'s ``accept_batch``):

    GameAnalytics                      ours
    event_uuid                         event_id (the SDK keeps it across its retries: stored once)
    user_id                            player_id
    client_ts (epoch s, SDK-corrected by our server_ts)   ts (no further skew correction)
    session_id                         session_id
    platform                           platform
    build                              app_version
    category user                      session_start
    category session_end (length)      session_end (duration_s = length)
    category business                  purchase: item_id = "itemType:itemId", amount = amount / 100 (GA
                                       sends minor units), currency, cart_type, transaction_num
    category progression               progression: event_id "Start:w1:l2" -> status start|complete|fail,
                                       level "w1:l2"; attempt_num, score kept
    category resource                  resource: event_id "Sink:gold:itemType:itemId" -> flow, currency,
                                       amount, item_type, item_id
    category design                    custom.design: design_id (the GA event_id), value
    category error                     error: severity, message (cut to 1024 characters)
    category ads, ad_action "show"     ad_impression (ad_sdk_name, ad_placement, ad_type kept)
    category ads, other actions        custom.ad: ad_action, ad_type, ...
    category impression                ad_impression: ad_network_name, ad_network_version, impression_data.*
    category sdk_error                 custom.sdk_error (needs a user_id, which the SDK does not send: refused)
    custom_01..03, custom_fields, os_version, device, manufacturer, sdk_version, engine_version,
    connection_type, session_num       properties

Not carried: GA's "configs" (remote configs: always empty), A/B testing, the country GA derives
from the address (the ingest's edge country header fills it), ``limit_ad_tracking``, ``ios_idfa``/
``google_aid`` and other advertising ids (dropped on purpose: not needed, personal data).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any

from ingest.validation import Rejection

GAME_KEY = re.compile(r"[A-Za-z0-9]{32}")
MAX_TEXT = 1024
COMMON = frozenset(("user_id", "client_ts", "session_id", "platform", "build", "category", "event_id", "event_uuid", "v"))
DROPPED = frozenset(("ios_idfa", "ios_idfv", "google_aid", "google_aid_src", "oaid", "limit_ad_tracking",
                     "custom_fields", "impression_data"))
_NOT_PROPERTIES = COMMON | DROPPED
_FLAT = (str, int, float, bool)
_PROGRESSION = {"start": "start", "complete": "complete", "fail": "fail"}


def signature(secret_key: str, raw_body: bytes) -> str:
    return base64.b64encode(hmac.new(secret_key.encode(), raw_body, hashlib.sha256).digest()).decode()


def signature_ok(secret_key: str, raw_body: bytes, authorization: str | None) -> bool:
    """The request's ``Authorization`` is the body's HMAC under the game's secret (constant time)."""
    return authorization is not None and hmac.compare_digest(signature(secret_key, raw_body), authorization.strip())


@dataclass(frozen=True)
class Translated:
    events: list[dict[str, Any]]
    positions: list[int]
    rejected: list[Rejection]


def _extra(event: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    for key, value in event.items():
        if key not in _NOT_PROPERTIES and type(value) in _FLAT and key not in properties:
            properties[key] = value
    fields = event.get("custom_fields")
    if type(fields) is dict:
        for key, value in fields.items():
            if type(value) in _FLAT:
                properties.setdefault(key, value)
    impression = event.get("impression_data")
    if type(impression) is dict:
        for key, value in impression.items():
            if isinstance(value, str | int | float | bool):
                properties[f"impression_data.{key}"] = value
    return properties


def _parts(event: dict[str, Any]) -> list[str]:
    value = event.get("event_id")
    return value.split(":") if isinstance(value, str) else []


def typed(event: dict[str, Any]) -> tuple[str, dict[str, Any]] | str:
    """(our event type, its properties) for one GA event by its category, or why not."""
    category = event.get("category")
    parts = _parts(event)
    if category == "user":
        return "session_start", {}
    if category == "session_end":
        return "session_end", {"duration_s": event.get("length", 0)}
    if category == "business":
        amount = event.get("amount")
        if not isinstance(amount, int | float) or isinstance(amount, bool):
            return "amount: a number of minor units (cents) is required"
        props: dict[str, Any] = {"item_id": event.get("event_id"), "amount": amount / 100,
                                 "currency": event.get("currency")}
        if len(parts) == 2:
            props.update(item_type=parts[0], item=parts[1])
        return "purchase", props
    if category == "progression":
        if not parts or parts[0].lower() not in _PROGRESSION:
            return f"event_id: {event.get('event_id')!r:.60} is not Start|Complete|Fail:<progression>"
        return "progression", {"status": _PROGRESSION[parts[0].lower()], "level": ":".join(parts[1:]) or parts[0]}
    if category == "resource":
        if len(parts) != 4 or parts[0].lower() not in ("source", "sink"):
            return f"event_id: {event.get('event_id')!r:.60} is not Source|Sink:<currency>:<item type>:<item id>"
        return "resource", {"flow": parts[0].lower(), "currency": parts[1], "amount": event.get("amount"),
                            "item_type": parts[2], "item_id": parts[3]}
    if category == "design":
        props = {"design_id": event.get("event_id")}
        if "value" in event:
            props["value"] = event["value"]
        return "custom.design", props
    if category == "error":
        message = event.get("message")
        return "error", {"severity": event.get("severity"),
                         "message": message[:MAX_TEXT] if isinstance(message, str) and message else "(no message)"}
    if category == "ads":
        return ("ad_impression" if event.get("ad_action") == "show" else "custom.ad"), {}
    if category == "impression":
        return "ad_impression", {}
    if category == "sdk_error":
        return "custom.sdk_error", {}
    return f"category: {category!r:.40} is not a GameAnalytics category"


def translate(events: list[Any]) -> Translated:
    """A GA events request's body (a JSON array) -> raw events for ``validate_batch``."""
    out: list[dict[str, Any]] = []
    positions: list[int] = []
    rejected: list[Rejection] = []
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            rejected.append(Rejection(index, None, [f"events[{index}]: must be a JSON object, got {type(event).__name__}"]))
            continue
        result = typed(event)
        if isinstance(result, str):
            uuid_ = event.get("event_uuid")
            rejected.append(Rejection(index, uuid_ if isinstance(uuid_, str) else None, [f"events[{index}].{result}"]))
            continue
        event_type, props = result
        client_ts = event.get("client_ts")
        out.append({
            "event_id": event.get("event_uuid"),
            "event_type": event_type,
            "player_id": event.get("user_id"),
            "ts": client_ts * 1000 if isinstance(client_ts, int | float) and not isinstance(client_ts, bool) else client_ts,
            "session_id": event.get("session_id"),
            "platform": event.get("platform"),
            "app_version": event.get("build"),
            "properties": _extra(event, props),
        })
        positions.append(index)
    return Translated(out, positions, rejected)
