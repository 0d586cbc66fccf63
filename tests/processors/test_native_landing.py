"""The native crate's landing payloads (``gamemetrics_avro.landing``) against the Python reference
(processors/copy_rows.py): the same bytes for any group, the same errors for bad input. Skipped,
saying so, when the installed build has no landing module."""

from __future__ import annotations

import uuid

import orjson
import pytest
from hypothesis import given, settings, strategies as st

from processors import copy_rows
from processors.enrich import EnrichedEvent

native = copy_rows.NATIVE
pytestmark = pytest.mark.skipif(native is None, reason="gamemetrics_avro without its landing module (not rebuilt)")

texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20)
optional = st.none() | texts
times = st.integers(min_value=0, max_value=4_102_444_800_000)  # 1970 .. 2100
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3), max_leaves=8,
)
uuids = st.uuids().map(str)

events = st.builds(
    lambda event_id, t, player, kind, ts, received, session, platform, version, country, props, batch, seq, new,
    revenue, delay: EnrichedEvent(
        {"event_id": event_id, "event_time": t, "player_id": player, "event_type": kind, "ts": ts,
         "session_id": session, "country": country, "properties": props},
        "g1", batch, received, platform, version, seq, new, revenue, 0.0, delay),
    uuids, times, texts, texts, times, times, optional, optional, optional, optional,
    st.dictionaries(texts, json_values, max_size=4), uuids, st.none() | st.integers(1, 2**31 - 1), st.booleans(),
    st.none() | st.floats(-1e11, 1e11).map(lambda x: round(x, 6)), st.integers(-(2**62), 2**62),
)


@settings(max_examples=300)
@given(st.lists(events, max_size=12))
def test_events_copy_is_the_python_payload(group):
    assert native.copy_events(group, orjson.dumps) == copy_rows.events_copy_py(group)


@settings(max_examples=300)
@given(st.lists(st.tuples(uuids, times), max_size=30))
def test_keys_copy_is_the_python_payload_sorted_the_same(pairs):
    assert native.copy_keys(pairs) == copy_rows.keys_copy_py(pairs)


def test_an_event_missing_a_field_or_with_a_bad_id_is_refused_like_the_python_payload():
    good = EnrichedEvent({"event_id": str(uuid.uuid4()), "event_time": 1, "player_id": "p", "event_type": "x", "ts": 2,
                          "session_id": None, "country": None, "properties": {}}, "g", str(uuid.uuid4()), 3, None, None,
                         None, False, None, 0.0, 2)
    missing = EnrichedEvent({k: v for k, v in good.event.items() if k != "country"}, "g", good.batch_id, 3, None, None,
                            None, False, None, 0.0, 2)
    bad_id = EnrichedEvent(dict(good.event, event_id="nope"), "g", good.batch_id, 3, None, None, None, False, None, 0.0, 2)
    for item, error in ((missing, KeyError), (bad_id, ValueError)):
        with pytest.raises(error):
            native.copy_events([good, item], orjson.dumps)
        with pytest.raises(error):
            copy_rows.events_copy_py([good, item])


def test_an_uppercase_uuid_is_the_same_key_and_a_bad_one_is_refused():
    event_id = str(uuid.uuid4())
    assert native.copy_keys([(event_id.upper(), 5)]) == copy_rows.keys_copy_py([(event_id, 5)])
    for bad in ("not-a-uuid", event_id[:-1], event_id + "0"):
        with pytest.raises(ValueError):
            native.copy_keys([(bad, 5)])
        with pytest.raises(ValueError):
            copy_rows.keys_copy_py([(bad, 5)])


def test_the_sink_takes_the_native_payloads_when_built_and_the_python_ones_without(monkeypatch):
    calls = []

    class Spy:
        def copy_events(self, items, dumps):
            calls.append(len(items))
            return native.copy_events(items, dumps)

        def copy_keys(self, pairs):
            calls.append(len(pairs))
            return native.copy_keys(pairs)

    group = [EnrichedEvent({"event_id": str(uuid.uuid4()), "event_time": 1, "player_id": "p", "event_type": "x",
                            "ts": 2, "session_id": None, "country": None, "properties": {}},
                           "g", str(uuid.uuid4()), 3, None, None, None, False, 1.5, 1.5, 2)]
    monkeypatch.setattr(copy_rows, "NATIVE", Spy())
    assert copy_rows.events_copy(group) == copy_rows.events_copy_py(group)
    assert copy_rows.keys_copy([("%s" % group[0].event["event_id"], 2)]) == copy_rows.keys_copy_py([(group[0].event["event_id"], 2)])
    assert calls == [1, 1]
    monkeypatch.setattr(copy_rows, "NATIVE", None)
    assert copy_rows.events_copy(group) == copy_rows.events_copy_py(group) and calls == [1, 1]


rollup_events = st.lists(st.builds(
    lambda kind, player, session, t, revenue, mode, outcome, duration, platform, country, version: EnrichedEvent(
        {"event_id": str(uuid.uuid4()), "event_time": t, "player_id": player, "event_type": kind, "ts": t,
         "session_id": session, "country": country,
         "properties": {k: v for k, v in (("mode", mode), ("outcome", outcome), ("duration_s", duration)) if v is not None}},
        "g1", "b", t + 10, platform, version, None, False, revenue if kind == "purchase" else None, 0.0, 10),
    st.sampled_from(["session_start", "session_end", "purchase", "match_result", "achievement"]),
    st.sampled_from(["p1", "p2", "ü3"]), st.sampled_from([None, "s1", "s2"]),
    st.integers(1_764_000_000_000, 1_764_000_000_000 + 3 * 86_400_000),
    st.floats(0, 1e6).map(lambda x: round(x, 6)),
    st.none() | st.sampled_from(["duel", "ranked"]) | st.integers(0, 3) | st.booleans(),
    st.none() | st.sampled_from(["win", "loss"]),
    st.none() | st.floats(0, 7200) | st.integers(0, 7200) | st.sampled_from(["12.5"]),
    optional, optional, optional,
), max_size=30)


@settings(max_examples=300)
@given(rollup_events)
def test_aggregate_gives_the_python_rollup_rows(group):
    from processors.rollups import Rollups, aggregate_py

    assert Rollups(*native.aggregate(group, orjson.dumps)) == aggregate_py(group)
