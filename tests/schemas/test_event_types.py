import pytest

from schemas.event_types import STANDARD_EVENT_TYPES, check_event_type, is_country, is_currency


def errors_for(event_type, properties):
    errors: list[str] = []
    check_event_type("events[0]", event_type, properties, errors)
    return errors


GOOD = {
    "session_start": {},
    "session_end": {"duration_s": 312},
    "progression": {"level": 4, "status": "complete"},
    "purchase": {"item_id": "gems-100", "amount": 4.99, "currency": "EUR"},
    "resource": {"flow": "sink", "currency": "gold", "amount": 120},
    "item_acquired": {"item_id": "sword"},
    "match_result": {"mode": "ranked", "outcome": "draw"},
    "achievement": {"achievement_id": "first-blood"},
    "ad_impression": {},
    "error": {"severity": "error", "message": "texture failed to load"},
}


def test_every_standard_type_has_a_good_example():
    assert set(GOOD) == set(STANDARD_EVENT_TYPES)


@pytest.mark.parametrize("event_type", sorted(GOOD))
def test_good_properties_pass(event_type):
    assert errors_for(event_type, GOOD[event_type]) == []


@pytest.mark.parametrize(
    "event_type, properties, expected",
    [
        ("purchase", {"item_id": "x", "amount": 1, "currency": "usd"}, "properties.currency: 'usd' is not an ISO 4217 code"),
        ("purchase", {"item_id": "x", "currency": "USD"}, "properties.amount: required for purchase"),
        ("progression", {"level": 2, "status": "won"}, "properties.status: 'won' is not one of start, complete, fail"),
        ("session_end", {"duration_s": -1}, "properties.duration_s: -1 is not a number of seconds >= 0"),
        ("match_result", {"mode": "duel", "outcome": True}, "properties.outcome: True is not one of win, loss, draw"),
        ("levelup", {}, "event_type: 'levelup' is not a standard type"),
    ],
)
def test_bad_properties_say_what_is_expected(event_type, properties, expected):
    errors = errors_for(event_type, properties)
    assert any(expected in e for e in errors), errors


def test_custom_types_are_free():
    assert errors_for("custom.anything", {"whatever": 1}) == []


def test_code_lists():
    assert is_currency("JPY") and not is_currency("XYZ") and not is_currency("jpy")
    assert is_country("BR") and not is_country("XX") and not is_country("br")
