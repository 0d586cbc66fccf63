"""GameAnalytics events -> our raw events (ingest.gameanalytics), the HMAC, and our validation."""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import time
import uuid

import pytest

from ingest import gameanalytics as ga
from ingest.validation import validate_batch

SECRET = "s" * 40


def an_event(category, **fields):
    return {"v": 2, "event_uuid": str(uuid.uuid4()), "user_id": "ga-user", "client_ts": int(time.time()),
            "session_id": "sess-1", "platform": "webgl", "build": "1.0.3", "os_version": "webgl 1", "sdk_version": "javascript 4.4.7",
            "session_num": 1, "category": category, **fields}


def test_signature_is_base64_hmac_sha256_of_the_raw_bytes_gzipped_or_not():
    body = b'[{"category":"user"}]'
    for raw in (body, gzip.compress(body)):
        expected = base64.b64encode(hmac.new(SECRET.encode(), raw, hashlib.sha256).digest()).decode()
        assert ga.signature_ok(SECRET, raw, expected)
        assert not ga.signature_ok("t" * 40, raw, expected)
    assert not ga.signature_ok(SECRET, body, None)


@pytest.mark.parametrize("event, event_type, props", [
    (an_event("user"), "session_start", {}),
    (an_event("session_end", length=42), "session_end", {"duration_s": 42}),
    (an_event("business", event_id="gems:pack_500", amount=499, currency="USD", transaction_num=1),
     "purchase", {"item_id": "gems:pack_500", "amount": 4.99, "currency": "USD", "item_type": "gems", "item": "pack_500"}),
    (an_event("progression", event_id="Complete:world01:level02", attempt_num=2, score=900),
     "progression", {"status": "complete", "level": "world01:level02", "attempt_num": 2, "score": 900}),
    (an_event("resource", event_id="Sink:gold:weapons:sword", amount=100),
     "resource", {"flow": "sink", "currency": "gold", "amount": 100, "item_type": "weapons", "item_id": "sword"}),
    (an_event("design", event_id="Kill:Robot", value=3.5), "custom.design", {"design_id": "Kill:Robot", "value": 3.5}),
    (an_event("error", severity="warning", message="low memory"), "error", {"severity": "warning", "message": "low memory"}),
    (an_event("ads", ad_action="show", ad_type="rewarded_video", ad_sdk_name="admob", ad_placement="end"),
     "ad_impression", {"ad_action": "show", "ad_type": "rewarded_video"}),
    (an_event("ads", ad_action="clicked", ad_type="banner", ad_sdk_name="admob", ad_placement="top"),
     "custom.ad", {"ad_action": "clicked"}),
    (an_event("impression", ad_network_name="ironsource", impression_data={"revenue": 0.01, "country": "DE"}),
     "ad_impression", {"ad_network_name": "ironsource", "impression_data.revenue": 0.01}),
])
def test_categories_map_onto_our_types_and_pass_validation(event, event_type, props):
    out = ga.translate([event])
    assert out.rejected == []
    [raw] = out.events
    assert raw["event_type"] == event_type and raw["event_id"] == event["event_uuid"] and raw["player_id"] == "ga-user"
    assert raw["ts"] == event["client_ts"] * 1000 and raw["app_version"] == "1.0.3" and raw["session_id"] == "sess-1"
    assert props.items() <= raw["properties"].items()
    assert raw["properties"]["sdk_version"] == "javascript 4.4.7"
    accepted, rejected = validate_batch(out.events, int(time.time() * 1000), None)
    assert rejected == [], rejected[0].errors if rejected else None
    assert accepted[0]["event_type"] == event_type


def test_advertising_ids_are_dropped_and_custom_fields_kept():
    out = ga.translate([an_event("user", google_aid="aaaa-bbbb", limit_ad_tracking=True, custom_fields={"skin": "red"})])
    props = out.events[0]["properties"]
    assert "google_aid" not in props and "limit_ad_tracking" not in props and props["skin"] == "red"


def test_unknown_category_and_malformed_ids_are_refused_by_index():
    out = ga.translate([an_event("user"), an_event("nope"), an_event("progression", event_id="Won:1"), 7])
    assert [r.index for r in out.rejected] == [1, 2, 3] and out.positions == [0]
    assert "category" in out.rejected[0].errors[0] and "Start|Complete|Fail" in out.rejected[1].errors[0]
    no_user = ga.translate([{**an_event("sdk_error"), "user_id": None}])
    _, rejected = validate_batch(no_user.events, int(time.time() * 1000), None)
    assert "player_id" in rejected[0].errors[0]
