"""The pure steps of the landing pipeline: validate, dedup, enrich, publish (rollups are SQL: see test_landing)."""

import uuid
from datetime import datetime, timezone

import pytest

from processors.dedup import first_copies
from processors.enrich import KnownPlayer, State, enrich_batch, normalize_app_version, normalize_platform
from processors.publish import processed_batch
from processors.validate import INVALID_EVENT, OUT_OF_RANGE, UNKNOWN_CURRENCY, validate

T0 = int(datetime(2026, 11, 22, 10, 0, 30, tzinfo=timezone.utc).timestamp() * 1000)  # events carry epoch ms
RATES = {"USD": 1.0, "EUR": 1.1}


def ev(event_type="session_start", player="p1", session="s1", at=T0, **props):
    return {
        "event_id": str(uuid.uuid4()), "event_type": event_type, "player_id": player, "ts": at, "event_time": at,
        "session_id": session, "platform": "iPhone", "app_version": "v2.3.1-beta", "country": "DE", "properties": props,
    }


def batch(events, game="g1", player="p1"):
    return {"batch_id": str(uuid.uuid4()), "game_id": game, "player_id": player, "received_at": T0 + 2000,
            "sent_at": None, "client_ip_hash": None, "events": events}


def test_validate_types_each_failure():
    events = [
        ev("purchase", item_id="a", amount=2.0, currency="EUR"),
        ev("purchase", item_id="a", amount=2.0, currency="ISK"),       # real ISO code, no rate
        ev("purchase", item_id="a", amount=20_000.0, currency="USD"),  # above the limit
        ev("progression", level=3),                                   # status missing
        ev("session_end", duration_s=60),
    ]
    valid, invalid = validate(events, RATES)
    assert [e["event_type"] for e in valid] == ["purchase", "session_end"]
    assert [(i.index, i.error_type) for i in invalid] == [(1, UNKNOWN_CURRENCY), (2, OUT_OF_RANGE), (3, INVALID_EVENT)]
    assert "ISK has no rate" in invalid[0].detail and "20,000.00 USD" in invalid[1].detail
    assert "properties.status: required for progression" in invalid[2].detail


def test_first_copy_wins_across_batches():
    a, b = ev(), ev()
    seen: set[str] = set()
    assert first_copies([a, b, a], seen) == [a, b]
    assert first_copies([b, ev()], seen)[0]["event_id"] != b["event_id"]


@pytest.mark.parametrize("raw, expected", [("iPhone", "ios"), (" Android ", "android"), ("PS5", "playstation"),
                                           ("Win64", "windows"), ("Nintendo Switch", "switch"), ("Quest 3", "quest 3"),
                                           (None, None)])
def test_platform_normalisation(raw, expected):
    assert normalize_platform(raw) == expected


@pytest.mark.parametrize("raw, expected", [("v2.3.1-beta", "2.3.1"), ("1.0", "1.0"), ("10.2.3.4.5", "10.2.3.4"),
                                           ("nightly", "nightly"), (None, None)])
def test_app_version_normalisation(raw, expected):
    assert normalize_app_version(raw) == expected


def test_enrich_threads_state_through_batches_of_one_player():
    state = State(players={("g1", "p1"): KnownPlayer(10.0)}, session_events={("g1", "s1"): 4})
    first = enrich_batch(batch([]), [ev(), ev("purchase", item_id="x", amount=2.0, currency="EUR")], state, RATES)
    second = enrich_batch(batch([]), [ev("purchase", item_id="y", amount=1.0, currency="USD")], state, RATES)
    assert [e.session_seq for e in first + second] == [5, 6, 7]
    assert [e.revenue_usd for e in first + second] == [None, 2.2, 1.0]
    assert [e.lifetime_revenue_usd for e in first + second] == [10.0, 12.2, 13.2]
    assert not any(e.is_new_player for e in first + second)
    assert first[0].platform == "ios" and first[0].app_version == "2.3.1" and first[0].delay_ms == 2000


def test_a_new_player_is_marked_on_its_first_batch_only():
    state = State()
    first = enrich_batch(batch([], player="new"), [ev(player="new", session=None)], state, RATES)
    later = enrich_batch(batch([], player="new"), [ev(player="new", session=None)], state, RATES)
    assert first[0].is_new_player and not later[0].is_new_player
    assert first[0].session_seq is None


def test_processed_batch_carries_only_landed_events():
    b = batch([])
    items = enrich_batch(b, [ev(), ev()], State(), RATES)
    record = processed_batch(b, items[:1], T0)
    assert len(record["events"]) == 1 and record["events"][0]["event"]["event_id"] == items[0].event["event_id"]
    assert record["events"][0]["is_new_player"] is True
