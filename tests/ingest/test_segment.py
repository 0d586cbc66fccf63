"""Segment messages -> our raw events (ingest.segment), and through our validation unchanged."""

from __future__ import annotations

import base64
import time
import uuid

from ingest import segment
from ingest.validation import validate_batch

NOW = "2026-12-06T07:00:00+00:00"


def track(**overrides):
    message = {"type": "track", "messageId": "m-1", "userId": "u-1", "event": "Level Up", "timestamp": NOW,
               "properties": {"level": 3, "hero": {"class": "mage"}, "tags": ["a", "b"]},
               "context": {"app": {"version": "1.2.0", "build": "77"}, "os": {"name": "iOS"}, "locale": "de-DE"}}
    message.update(overrides)
    return message


def test_write_key_from_basic_auth_user_or_body():
    basic = "Basic " + base64.b64encode(b"gm_key:").decode()
    assert segment.write_key(basic, None) == "gm_key"
    assert segment.write_key(None, "gm_body") == "gm_body"
    assert segment.write_key("Basic !!!", None) is None
    assert segment.write_key(None, "") is None


def test_message_id_gives_a_deterministic_uuid_so_a_resend_is_one_event():
    first, again = segment.translate_message(track(), None, NOW), segment.translate_message(track(), None, NOW)
    assert first["event_id"] == again["event_id"] == str(uuid.uuid5(segment.SEGMENT_NAMESPACE, "m-1"))
    other = segment.translate_message(track(messageId="m-2"), None, NOW)
    assert other["event_id"] != first["event_id"]
    no_id = {k: v for k, v in track().items() if k != "messageId"}
    assert segment.translate_message(no_id, None, NOW)["event_id"] == segment.translate_message(dict(no_id), None, NOW)["event_id"]


def test_track_becomes_a_custom_event_with_flat_properties_and_context_fields():
    event = segment.translate_message(track(), None, NOW)
    assert event["event_type"] == "custom.Level_Up"
    assert event["player_id"] == "u-1" and event["app_version"] == "1.2.0" and event["platform"] == "ios"
    assert event["properties"] == {"level": 3, "hero.class": "mage", "tags": '["a","b"]', "segment_event": "Level Up",
                                   "context_locale": "de-DE", "context_app_build": "77"}
    accepted, rejected = validate_batch([event], int(time.time() * 1000), None)
    assert rejected == [] and accepted[0]["event_type"] == "custom.Level_Up"


def test_anonymous_id_when_no_user_id_and_a_message_without_either_is_refused():
    assert segment.translate_message(track(userId=None, anonymousId="anon-9"), None, NOW)["player_id"] == "anon-9"
    assert "userId or anonymousId" in segment.translate_message(track(userId=None), None, NOW)


def test_order_completed_is_a_purchase():
    event = segment.translate_message(track(event="Order Completed", properties={
        "order_id": "o-1", "revenue": 4.99, "currency": "EUR", "products": [{"product_id": "gems_500"}]}), None, NOW)
    assert event["event_type"] == "purchase"
    assert {k: event["properties"][k] for k in ("item_id", "amount", "currency")} == {
        "item_id": "gems_500", "amount": 4.99, "currency": "EUR"}
    accepted, rejected = validate_batch([event], int(time.time() * 1000), None)
    assert rejected == [] and accepted[0]["event_type"] == "purchase"


def test_identify_page_screen_group_alias():
    identify = segment.translate_message({"type": "identify", "userId": "u", "traits": {"plan": "vip"}, "timestamp": NOW},
                                         None, NOW)
    assert identify["event_type"] == "custom.identify" and identify["properties"] == {"plan": "vip"}
    screen = segment.translate_message({"userId": "u", "name": "Shop", "timestamp": NOW}, "screen", NOW)
    assert screen["event_type"] == "custom.screen" and screen["properties"]["name"] == "Shop"
    group = segment.translate_message({"type": "group", "userId": "u", "groupId": "guild-1", "traits": {"size": 4}}, None, NOW)
    assert group["properties"] == {"group_id": "guild-1", "traits.size": 4} and group["ts"] == NOW
    alias = segment.translate_message({"type": "alias", "userId": "u", "previousId": "anon"}, None, NOW)
    assert alias["event_type"] == "custom.alias" and alias["properties"] == {"previous_id": "anon"}
    assert "not one of" in segment.translate_message({"type": "nope", "userId": "u"}, None, NOW)


def test_a_message_over_32_kb_is_refused_alone_and_indexes_name_the_batch():
    messages = [track(messageId="a"), "junk", track(messageId="c")]
    out = segment.translate(messages, None, NOW, sizes=[100, 10, 40_000], max_event_bytes=32 * 1024)
    assert [e["event_id"] for e in out.events] == [str(uuid.uuid5(segment.SEGMENT_NAMESPACE, "a"))]
    assert [(r.index, r.errors[0].split(":")[0]) for r in out.rejected] == [(1, "batch[1]"), (2, "batch[2]")]
    assert "32 KB" in out.rejected[1].errors[0]
    bad = track(messageId="d", timestamp="yesterday")
    out = segment.translate(["junk", bad], None, NOW)
    _, rejected = validate_batch(out.events, int(time.time() * 1000), None)
    renumbered = segment.renumber(rejected, out.positions)
    assert renumbered[0].index == 1 and renumbered[0].errors[0].startswith("batch[1].ts")
