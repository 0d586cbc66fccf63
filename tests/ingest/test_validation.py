import uuid

import pytest

from ingest.validation import Rejection, parse_time_ms, validate_batch

NOW = 1_795_000_000_000


def event(**overrides):
    base = {
        "event_id": str(uuid.uuid4()),
        "event_type": "session_start",
        "player_id": "p-1",
        "ts": NOW - 1000,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not ...}


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2026-11-22T10:00:00Z", 1795341600000),
        ("2026-11-22T11:00:00+01:00", 1795341600000),
        (1795341600000, 1795341600000),
        (1795341600000.0, 1795341600000),
        ("2026-11-22T10:00:00", None),  # no offset: ambiguous
        ("yesterday", None),
        (True, None),
        (-5, None),
        (None, None),
    ],
)
def test_parse_time_ms(value, expected):
    assert parse_time_ms(value) == expected


def test_good_events_are_accepted_beside_bad_ones():
    good = event()
    bad = event(event_id="not-a-uuid", ts="soon")
    accepted, rejected = validate_batch([good, bad, event()], NOW, None)
    assert [a["event_id"] for a in accepted][0] == good["event_id"]
    assert len(accepted) == 2
    assert len(rejected) == 1 and rejected[0].index == 1
    assert rejected[0].errors == [
        "events[1].event_id: required, a UUID string (got 'not-a-uuid')",
        "events[1].ts: required, an RFC 3339 time with offset or epoch milliseconds (got 'soon')",
    ]


def test_clock_skew_is_corrected_and_original_kept():
    (accepted, _) = validate_batch([event(ts=NOW - 60_000)], NOW, sent_at_ms=NOW - 3_600_000)
    # the client clock is an hour behind: the event happened 1 min before the request left
    assert accepted[0]["ts"] == NOW - 60_000
    assert accepted[0]["event_time"] == NOW - 60_000 + 3_600_000


@pytest.mark.parametrize(
    "overrides, reason",
    [
        ({"event_type": "Purchase"}, "events[0].event_type: required, lower_snake_case or custom.<name>"),
        ({"player_id": ""}, "events[0].player_id: required"),
        ({"player_id": ...}, "events[0].player_id: required"),
        ({"properties": {"nested": {"a": 1}}}, "events[0].properties.nested: dict is not allowed"),
        ({"properties": [1, 2]}, "events[0].properties: must be an object"),
        ({"colour": "red"}, "events[0]: unknown fields colour"),
        ({"country": 49}, "events[0].country: must be a string"),
    ],
)
def test_each_problem_has_a_reason_naming_the_field(overrides, reason):
    _, rejected = validate_batch([event(**overrides)], NOW, None)
    assert isinstance(rejected[0], Rejection)
    assert any(e.startswith(reason) for e in rejected[0].errors), rejected[0].errors


def test_custom_event_types_and_flat_properties_pass():
    accepted, rejected = validate_batch(
        [event(event_type="custom.boss_defeated", properties={"boss": "hydra", "hp": 12, "crit": 1.5, "solo": True})],
        NOW, None,
    )
    assert rejected == []
    assert accepted[0]["properties"] == {"boss": "hydra", "hp": 12, "crit": 1.5, "solo": True}


def test_non_object_event_is_rejected_not_crashed():
    _, rejected = validate_batch(["oops", None, 3], NOW, None)
    assert [r.index for r in rejected] == [0, 1, 2]


@pytest.mark.parametrize("event_type", ["custom.a\n", "session_start\n", "custom.a\nb"])
def test_an_event_type_with_a_newline_is_rejected(event_type):
    accepted, rejected = validate_batch([event(event_type=event_type)], NOW, None)
    assert accepted == []
    assert rejected[0].errors[0].startswith("events[0].event_type: required, lower_snake_case or custom.<name>")


@pytest.mark.parametrize("ts", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", 253402300800000, 99999999999999])
def test_a_time_out_of_the_supported_range_is_rejected_with_a_reason(ts):
    accepted, rejected = validate_batch([event(ts=ts)], NOW, None)
    assert accepted == []
    assert rejected[0].errors[0].startswith("events[0].ts: ")


@pytest.mark.parametrize(("sent_at_ms", "ts"), [(0, 253402300799999), (253402300799999, 0), (99999999999999, NOW)])
def test_a_far_off_sent_at_rejects_the_event_with_a_message(sent_at_ms, ts):
    # the skew correction moves ts by (server time - sent_at): the result may be outside any calendar
    accepted, rejected = validate_batch([event(ts=ts)], NOW, sent_at_ms)
    assert accepted == []
    assert rejected[0].errors[0].startswith("events[0].ts: ")
    assert "after clock-skew correction" in rejected[0].errors[0]


@pytest.mark.parametrize(("field", "value", "where"), [
    ("player_id", "p\x00", "player_id"),
    ("session_id", "s\x00", "session_id"),
    ("app_version", "\x001.0", "app_version"),
    ("properties", {"k": "v\x00"}, "properties.k"),
    ("properties", {"k\x00": 1}, "properties"),
])
def test_a_nul_character_anywhere_rejects_the_event_and_only_it(field, value, where):
    bad, good = event(**{field: value}), event()
    accepted, rejected = validate_batch([bad, good], NOW, None)
    assert [a["event_id"] for a in accepted] == [good["event_id"]]
    assert rejected[0].errors == [f"events[0].{where}: contains a NUL character (\\u0000), which PostgreSQL cannot store"]
