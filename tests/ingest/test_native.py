"""The native ingest call (gamemetrics_avro.IngestRules, ingest/native.py) against the Python
reference (ingest.body + ingest.validation + ingest.suppression + ingest.batching + fastavro):
same verdicts, same error texts, same Avro bytes (the random batch_id aside), over random and
hostile bodies (hypothesis). Pure: no services."""

from __future__ import annotations

import string
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
import pycountry
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ingest.batching import group_by_player
from ingest.body import parse_envelope
from ingest.errors import IngestError
from ingest.native import CHECKS, native_ingest
from ingest.suppression import refuse_suppressed
from ingest.validation import TimeLimits, validate_batch
from schemas.catalog import load_catalog
from schemas.event_types import STANDARD_EVENT_TYPES, is_country, is_currency
from schemas.ids import CatalogIds
from schemas.wire import FASTAVRO, INSTALLED, AvroSerializer

pytestmark = pytest.mark.skipif(INSTALLED.module is None or not hasattr(INSTALLED.module, "IngestRules"),
                                reason="gamemetrics_avro with IngestRules is not built")

NOW = 1_780_000_000_000  # 2026-05-28
LIMITS = TimeLimits(future_ms=24 * 3600 * 1000, past_ms=30 * 86400 * 1000)
MAX_EVENTS, MAX_BODY = 60, 200_000
TOPIC = "player.events.raw"
SCHEMA = load_catalog().latest("EventBatch")
REFERENCE = AvroSerializer(CatalogIds(), TOPIC, SCHEMA, logical=False, codec=FASTAVRO)
NATIVE = native_ingest(INSTALLED, AvroSerializer(CatalogIds(), TOPIC, SCHEMA, logical=False, codec=INSTALLED),
                       LIMITS, MAX_EVENTS, MAX_BODY)
BATCH_ID = slice(6, 42)  # the batch_id's 36 characters, after the 5-byte frame and its length byte


def python_path(body: bytes, game: str, ip_hash: str | None, country: str | None, suppressed: Any):
    envelope = parse_envelope(body, False, MAX_BODY, MAX_EVENTS)
    accepted, rejected = validate_batch(envelope.events, NOW, envelope.sent_at_ms, LIMITS)
    before = len(accepted)
    if suppressed is not None:
        accepted, rejected = refuse_suppressed(accepted, rejected, suppressed)
    for event in accepted:
        event["country"] = event["country"] or country
    batches = group_by_player(accepted, game, NOW, envelope.sent_at_ms, ip_hash)
    messages = [(key, REFERENCE.encode(batch)) for key, batch in batches]
    return len(envelope.events), messages, rejected, before - len(accepted)


def masked(value: bytes) -> bytes:
    assert value[5] == 72 and uuid.UUID(value[BATCH_ID].decode()).version == 4
    return value[:6] + b"0" * 36 + value[42:]


def depth(value: Any) -> int:
    if isinstance(value, dict | list):
        return 1 + max(map(depth, value.values() if isinstance(value, dict) else value), default=0)
    return 0


def same(body: bytes, game: str = "g1", ip_hash: str | None = None, country: str | None = None,
         suppressed: Any = None) -> None:
    native = NATIVE.run(body, game, NOW, ip_hash, country, suppressed)
    try:
        reference = python_path(body, game, ip_hash, country, suppressed)
    except IngestError:
        assert native is None, "the Python path refuses the envelope, the native call did not"
        return
    if native is None:  # serde_json stops at 128 levels (orjson at 1024), and leaves -0 / -0.0 to orjson
        assert depth(orjson.loads(body)) > 127 or b"-0" in body, "the native call refused an envelope the Python path reads"
        return
    events, messages, rejected, refused = reference
    assert native.events == events
    assert [r.as_json() for r in native.rejected] == [r.as_json() for r in rejected]
    assert native.suppressed == refused
    assert [(k, masked(v)) for k, v in native.messages] == [(k, masked(v)) for k, v in messages]
    ids = [v[BATCH_ID] for _, v in native.messages]
    assert len(set(ids)) == len(ids)


# --- strategies: mostly plausible events with a hostile part here and there -------------------

TEXT = st.text(st.characters(codec="utf-8"), max_size=12)
HOSTILE_TEXT = st.one_of(
    TEXT, TEXT.map(lambda s: s[:3] + "\x00"), st.text("ab'\"\\\n\x7fé", max_size=8),
    st.integers(1, 1100).map(lambda n: "x" * n), st.integers(120, 140).map(lambda n: "é" * n),
)
JSON_SCALAR = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.integers(-(2**63) - 2, 2**64 + 2),
    st.floats(allow_nan=False, allow_infinity=False), HOSTILE_TEXT,
)
JSON = st.recursive(JSON_SCALAR, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3)), max_leaves=6)


def _uuid_forms(u: uuid.UUID) -> st.SearchStrategy[str]:
    s = str(u)
    return st.sampled_from([s, s.upper(), u.hex, "{" + s + "}", "urn:uuid:" + s, s[:-1], s + "-", "{" + s,
                            " " + u.hex[1:], "+" + u.hex[1:], "-" + u.hex[1:], "0x" + u.hex[2:], s.replace("a", "g")])


EVENT_IDS = st.one_of(st.uuids().flatmap(_uuid_forms), JSON)


def _time_forms(ms: int) -> st.SearchStrategy[Any]:
    t = datetime.fromtimestamp(ms / 1000, timezone.utc)
    return st.one_of(
        st.sampled_from([ms, float(ms), ms + 0.5, -ms, str(ms), True]),
        st.integers(-23 * 60, 23 * 60).map(lambda m: t.astimezone(timezone(timedelta(minutes=m)))).flatmap(
            lambda local: st.sampled_from([
                local.isoformat(), local.isoformat(timespec="milliseconds"), local.isoformat(timespec="seconds"),
                local.isoformat(timespec="microseconds"), local.isoformat().replace("+00:00", "Z"),
                local.replace(tzinfo=None).isoformat(), local.isoformat(sep=" "),
                local.isoformat(timespec="milliseconds")[:-3] + "Z", local.strftime("%Y%m%dT%H%M%S%z"),
            ])),
    )


TIMES = st.one_of(
    st.integers(NOW - 40 * 86400_000, NOW + 2 * 86400_000).flatmap(_time_forms),
    st.integers(2 * 86400_000, 253_402_300_799_999 - 2 * 86400_000).flatmap(_time_forms),
    st.sampled_from(["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2026-02-29T00:00:00Z",
                     "2024-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-05-28T24:00:00Z",
                     "2026-05-28T10:00:00+24:00", "2026-05-28T10:00:00.1234567Z", "1969-12-31T23:59:59.9995Z",
                     "2026-05-28T10:00:00,5Z", "2026-W22-4T10:00:00Z"]),
    JSON,
)
PROP_VALUES = st.one_of(
    JSON_SCALAR, st.sampled_from(["start", "complete", "fail", "source", "sink", "win", "loss", "draw", "debug",
                                  "error", "USD", "EUR", "usd", "XXX", "", -0.0, -1, 0, 2**63, 3.5]), JSON,
)
PROPS = st.one_of(
    st.dictionaries(st.sampled_from(sorted({p.name for ps in STANDARD_EVENT_TYPES.values() for p in ps})) | TEXT,
                    PROP_VALUES, max_size=6),
    st.integers(60, 70).map(lambda n: {f"k{i}": i for i in range(n)}),
    st.none(), JSON,
)
EVENT_TYPES = st.one_of(st.sampled_from(list(STANDARD_EVENT_TYPES)), st.sampled_from(
    ["custom.level_up", "custom.x:y-z.1", "custom.", "Purchase", "not_a_type", "a" * 65, "custom." + "b" * 65]), JSON)
FIELDS = {
    "event_id": EVENT_IDS, "event_type": EVENT_TYPES,
    "player_id": st.one_of(st.sampled_from(["p1", "p2", "p3", "ü", ""]), HOSTILE_TEXT, JSON),
    "ts": TIMES, "properties": PROPS,
    "session_id": st.one_of(st.none(), HOSTILE_TEXT, JSON), "platform": st.one_of(st.none(), st.just("ios")),
    "app_version": st.one_of(st.none(), HOSTILE_TEXT),
    "country": st.one_of(st.none(), st.sampled_from(["DE", "FR", "de", "XX", "EU", "D\x00"]), HOSTILE_TEXT, JSON),
    "extra": JSON, "zz": JSON,
}


@st.composite
def events(draw) -> Any:
    if draw(st.integers(0, 20)) == 0:
        return draw(JSON)
    event = {}
    for name, values in FIELDS.items():
        if name in ("extra", "zz"):
            if draw(st.integers(0, 8)) == 0:
                event[name] = draw(values)
        elif draw(st.integers(0, 12)) != 0:
            event[name] = draw(values)
    return event


@st.composite
def bodies(draw) -> bytes:
    """A body's text; keys may repeat (a dict keeps the first place and the last value)."""
    pairs = [("events", draw(st.lists(events(), max_size=8)))]
    if draw(st.booleans()):
        pairs.append(("sent_at", draw(st.one_of(st.none(), st.integers(NOW - 3_600_000, NOW + 3_600_000), TIMES))))
    if draw(st.integers(0, 10)) == 0:
        pairs.append(("events", draw(st.one_of(JSON, st.lists(events(), max_size=2)))))
    draw(st.randoms()).shuffle(pairs)
    return b"{" + b",".join(orjson.dumps(k) + b":" + _dumps(v, draw) for k, v in pairs) + b"}"


def _dumps(value: Any, draw) -> bytes:
    """orjson's text, but an object sometimes repeats one of its keys (with another value)."""
    if isinstance(value, dict):
        items = [orjson.dumps(k) + b":" + _dumps(v, draw) for k, v in value.items()]
        if value and draw(st.integers(0, 6)) == 0:
            key = draw(st.sampled_from(list(value)))
            items.insert(draw(st.integers(0, len(items))), orjson.dumps(key) + b":" + _dumps(draw(JSON_SCALAR), draw))
        return b"{" + b",".join(items) + b"}"
    if isinstance(value, list):
        return b"[" + b",".join(_dumps(v, draw) for v in value) + b"]"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value).encode()  # beyond 64 bits too (orjson reads those as floats)
    return orjson.dumps(value)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(body=bodies(), ip_hash=st.one_of(st.none(), st.just("ab" * 16)), country=st.sampled_from([None, "DE"]),
       suppressed_player=st.sampled_from([None, "p1", "p2"]))
def test_native_and_python_agree_on_random_and_hostile_bodies(body, ip_hash, country, suppressed_player):
    suppressed = None if suppressed_player is None else (lambda player: player == suppressed_player)
    same(body, "g1", ip_hash, country, suppressed)


@example(b"")
@example(b"{}")
@example(b"[]")
@example(b'{"events": {}}')
@example(b'{"events": [], "sent_at": "yesterday"}')
@example(b'{"events": [{"event_id": "\\ud800"}]}')
@example(b'{"events": [1e400]}')
@example(b"\xef\xbb\xbf{}")
@example(b'{"events": [' + b"[" * 200 + b"]" * 200 + b"]}")
@example(b'{"events": [' + b"{}," * 61 + b"{}]}")
@example(b'{"events": [18446744073709551616, -9223372036854775809, 1E2, -0]}')
@example(b'{"events": []} x')
@given(body=st.binary(max_size=60) | st.text(string.printable, max_size=60).map(str.encode))
@settings(deadline=None)
def test_native_and_python_agree_on_bytes_that_are_hardly_json(body):
    same(body)


def test_every_required_property_has_a_native_check():
    assert {(t, p.name) for t, props in STANDARD_EVENT_TYPES.items() for p in props} == set(CHECKS)


def test_the_country_and_currency_tables_given_to_the_native_call_are_pycountrys():
    letters = string.ascii_uppercase
    countries = {c.alpha_2 for c in pycountry.countries}
    currencies = {c.alpha_3 for c in pycountry.currencies}
    assert all(is_country(a + b) == (a + b in countries) for a in letters for b in letters)
    assert all(is_currency(a + b + c) == (a + b + c in currencies) for a in letters for b in letters for c in letters)


def test_a_good_request_gives_one_message_per_player_in_first_seen_order():
    body = orjson.dumps({"sent_at": NOW - 1000, "events": [
        {"event_id": str(uuid.uuid4()), "event_type": "session_start", "player_id": p, "ts": NOW - 5000}
        for p in ("p2", "p1", "p2")]})
    outcome = NATIVE.run(body, "g1", NOW, None, None)
    assert outcome is not None and outcome.events == 3 and outcome.rejected == []
    assert [k for k, _ in outcome.messages] == [b"p2", b"p1"]
    same(body)


def test_the_python_path_takes_over_when_the_codec_is_fastavro():
    assert native_ingest(FASTAVRO, REFERENCE, LIMITS, MAX_EVENTS, MAX_BODY) is None
