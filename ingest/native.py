"""A request in one native call: ``gamemetrics_avro.IngestRules`` (native/gamemetrics_avro/src/ingest.rs).

JSON body -> every rule of ``ingest.validation`` -> clock-skew correction -> GDPR suppression ->
one EventBatch per player -> Confluent-framed Avro, with the rejections' texts of the Python
reference. ``ingest.validation`` stays the reference and the fallback: ``native_ingest`` gives
None (and the app runs the Python path) when the module is not built, when the process's Avro codec
is fastavro (``GAMEMETRICS_AVRO_CODEC=fastavro``), or when a rule table has a check the native
module does not know. A body whose envelope the native call does not read (invalid JSON, no
events array, too many events, a bad ``sent_at``) also goes to the Python path, for its error.

The rule tables are handed over from Python once: the event types with their required properties
(``schemas.event_types``), the ISO countries and currencies (pycountry), the limits, and the two
functions that read the rare forms of an id or a time (``normalize_event_id``, ``parse_time_ms``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import pycountry

from ingest.suppression import SUPPRESSED
from ingest.validation import Rejection, TimeLimits, normalize_event_id, parse_time_ms
from schemas.event_types import STANDARD_EVENT_TYPES
from schemas.wire import MAGIC_BYTE, AvroSerializer, PlainCodec

EVENT_BATCH_VERSION = 1  # the layout src/ingest.rs writes: EventBatch v1 of PlayerEvent v1

# How the native module checks each required property of a standard type (the Python checks are
# lambdas): a check here per (type, property) of schemas.event_types, else no native path.
CHECKS: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {
    ("session_end", "duration_s"): ("non_negative", ()),
    ("progression", "level"): ("level", ()),
    ("progression", "status"): ("one_of", ("start", "complete", "fail")),
    ("purchase", "item_id"): ("string", ()),
    ("purchase", "amount"): ("non_negative", ()),
    ("purchase", "currency"): ("currency", ()),
    ("resource", "flow"): ("one_of", ("source", "sink")),
    ("resource", "currency"): ("string", ()),
    ("resource", "amount"): ("non_negative", ()),
    ("item_acquired", "item_id"): ("string", ()),
    ("match_result", "mode"): ("string", ()),
    ("match_result", "outcome"): ("one_of", ("win", "loss", "draw")),
    ("achievement", "achievement_id"): ("string", ()),
    ("error", "severity"): ("one_of", ("debug", "info", "warning", "error", "critical")),
    ("error", "message"): ("message", ()),
}


def event_type_table() -> list[tuple[str, list[tuple[str, str, list[str], str]]]] | None:
    """``schemas.event_types.STANDARD_EVENT_TYPES`` as the native module takes it; None when a
    property has no native check in ``CHECKS``."""
    table = []
    for event_type, props in STANDARD_EVENT_TYPES.items():
        rows = []
        for prop in props:
            check = CHECKS.get((event_type, prop.name))
            if check is None:
                return None
            rows.append((prop.name, check[0], list(check[1]), prop.must_be))
        table.append((event_type, rows))
    return table


@dataclass(frozen=True)
class NativeOutcome:
    """What one native call gives: the request's event count, the framed messages, the rejections
    (request order) and how many events GDPR suppression refused."""

    events: int
    messages: list[tuple[bytes, bytes]]
    rejected: list[Rejection]
    suppressed: int


class NativeIngest:
    def __init__(self, rules: Any) -> None:
        self._rules = rules

    def run(self, body: bytes, game_id: str, received_at_ms: int, client_ip_hash: str | None,
            default_country: str | None, suppressed: Any = None) -> NativeOutcome | None:
        """The native call; None when the envelope is the Python path's to refuse."""
        result = self._rules.ingest(body, game_id, received_at_ms, client_ip_hash, default_country, suppressed)
        if result is None:
            return None
        events, messages, rejected, refused = result
        return NativeOutcome(events, messages, [Rejection(i, eid, errs) for i, eid, errs in rejected], refused)


def native_available(codec: PlainCodec) -> bool:
    """Whether a process with this Avro codec ingests through the native call (given rule tables it knows)."""
    return codec.module is not None and hasattr(codec.module, "IngestRules") and event_type_table() is not None


def native_ingest(codec: PlainCodec, serializer: AvroSerializer, limits: TimeLimits, max_events: int,
                  max_body_bytes: int) -> NativeIngest | None:
    """The native ingest of this build and codec, or None (the Python path)."""
    table = event_type_table()
    if not native_available(codec) or table is None or serializer.schema.version != EVENT_BATCH_VERSION:
        return None
    rules = codec.module.IngestRules(  # type: ignore[union-attr]
        struct.pack(">bI", MAGIC_BYTE, serializer.schema_id), limits.future_ms, limits.past_ms, max_events,
        max_body_bytes, sorted(c.alpha_2 for c in pycountry.countries),
        sorted(c.alpha_3 for c in pycountry.currencies), table, SUPPRESSED, parse_time_ms, normalize_event_id,
    )
    return NativeIngest(rules)
