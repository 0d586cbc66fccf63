"""processors/notifications/rules.py: which rule fires for which processed event, and what it says."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from processors.notifications.model import notification_id
from processors.notifications.rules import Rule, RuleSet, notifications_for_batch, rule_problems
from tests.processors.notifications.events import processed_batch, processed_event, purchase

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=timezone.utc)

RECEIPT = Rule("receipt", "purchase", "email", "Your receipt for $item_id\nYou paid $amount $currency.",
               "${player_id}@players.example", game_id="g1")
ACHIEVEMENT = Rule("cheer", "achievement", "push", "Unlocked: ${achievement_id}!", "player:${player_id}")
WHALE = Rule("whale", "purchase", "webhook", "$player_id crossed $threshold_usd USD", "https://crm.example/hook",
             lifetime_spend_threshold_usd=100.0)


def made(rules: list[Rule], batch: dict) -> list:
    return notifications_for_batch(RuleSet(rules), batch, NOW)


def test_a_purchase_makes_a_receipt_email_to_the_rendered_address():
    event = purchase("p-7", 4.99, 4.99, item_id="starter_pack")
    [receipt] = made([RECEIPT], processed_batch("g1", "p-7", [event]))
    assert receipt.channel == "email" and receipt.rule_id == "receipt"
    assert receipt.recipient == "p-7@players.example"
    assert receipt.payload["item_id"] == "starter_pack" and receipt.payload["revenue_usd"] == "4.99"
    assert receipt.source_event_id == event["event"]["event_id"]
    assert receipt.game_id == "g1" and receipt.player_id == "p-7" and receipt.created_at == NOW


def test_an_achievement_makes_a_push_in_every_game_when_the_rule_names_none():
    for game in ("g1", "g2"):
        event = processed_event("achievement", "p-1", {"achievement_id": "first_blood"})
        [push] = made([ACHIEVEMENT, RECEIPT], processed_batch(game, "p-1", [event]))
        assert (push.channel, push.recipient, push.payload["achievement_id"]) == ("push", "player:p-1", "first_blood")


def test_a_rule_of_one_game_does_not_fire_in_another():
    assert made([RECEIPT], processed_batch("g2", "p-7", [purchase("p-7", 4.99, 4.99)])) == []


def test_the_lifetime_threshold_fires_once_on_the_event_that_crosses_it():
    events = [purchase("p-3", 60.0, 60.0), purchase("p-3", 40.0, 100.0), purchase("p-3", 30.0, 130.0)]
    [crossed] = made([WHALE], processed_batch("g1", "p-3", events))
    assert crossed.source_event_id == events[1]["event"]["event_id"]
    assert crossed.payload["threshold_usd"] == "100.00" and crossed.payload["lifetime_revenue_usd"] == "100.00"


@pytest.mark.parametrize(("revenue", "lifetime", "fires"), [
    (0.1, 100.00000000000001, True),  # float noise above the threshold still crosses it
    (50.0, 99.99, False),
    (10.0, None, False),  # no lifetime figure: cannot tell
    (200.0, 250.0, True),  # one large purchase crosses from below
])
def test_threshold_crossing_edges(revenue, lifetime, fires):
    event = purchase("p-4", revenue, lifetime)
    assert bool(made([WHALE], processed_batch("g1", "p-4", [event]))) is fires


def test_min_revenue_keeps_small_purchases_quiet():
    big_only = Rule("big", "purchase", "sms", "Thanks!", "+33600000000", min_revenue_usd=20.0)
    events = [purchase("p-5", 4.99, 4.99), purchase("p-5", 19.99, 24.98), purchase("p-5", 20.0, 44.98)]
    fired = made([big_only], processed_batch("g1", "p-5", events))
    assert [n.source_event_id for n in fired] == [events[2]["event"]["event_id"]]


def test_disabled_rules_never_fire():
    off = Rule("off", "purchase", "email", "x", "a@b.example", enabled=False)
    assert made([off], processed_batch("g1", "p", [purchase("p", 1.0, 1.0)])) == []


def test_a_replayed_event_gives_the_same_notification_ids():
    batch = processed_batch("g1", "p-7", [purchase("p-7", 150.0, 150.0)])
    first = made([RECEIPT, WHALE], batch)
    again = notifications_for_batch(RuleSet([RECEIPT, WHALE]), batch, datetime.now(timezone.utc))
    assert [n.notification_id for n in first] == [n.notification_id for n in again]
    assert len({n.notification_id for n in first}) == 2  # one per rule
    event_id = batch["events"][0]["event"]["event_id"]
    assert first[0].notification_id == notification_id("receipt", event_id)


def test_properties_become_template_text_and_event_fields_win_over_them():
    event = processed_event("custom.gift", "p-8", {"player_id": "spoofed", "vip": True, "count": 3})
    rule = Rule("gift", "custom.gift", "push", "$vip $count", "player:$player_id")
    [gift] = made([rule], processed_batch("g1", "p-8", [event]))
    assert gift.recipient == "player:p-8"
    assert (gift.payload["vip"], gift.payload["count"]) == ("true", "3")


def test_rule_problems_name_the_field_and_what_to_do():
    bad = Rule("", "", "fax", "Hi ${", "not-a-url", min_revenue_usd=-1, lifetime_spend_threshold_usd=0)
    problems = "\n".join(rule_problems(bad))
    assert "rule_id: is empty" in problems
    assert "channel: 'fax' is not one of email, webhook, push, sms" in problems
    assert "template: 'Hi ${' has a malformed placeholder" in problems
    assert "min_revenue_usd: -1 is negative" in problems
    assert "lifetime_spend_threshold_usd: 0 must be above 0" in problems
    webhook = Rule("w", "purchase", "webhook", "x", "ftp://example.com/x")
    assert rule_problems(webhook) == [
        "target: 'ftp://example.com/x' is not an http(s) URL; a webhook rule posts to its target"]
    assert rule_problems(RECEIPT) == [] and rule_problems(WHALE) == []


def test_a_rule_set_applies_to_its_games_and_to_every_game_for_a_rule_without_one():
    assert RuleSet([RECEIPT]).applies_to("g1") and not RuleSet([RECEIPT]).applies_to("g2")
    assert RuleSet([RECEIPT, ACHIEVEMENT]).applies_to("g2")
    assert not RuleSet([]).applies_to("g1")
    assert not RuleSet([Rule("off", "purchase", "email", "x", "a@b.example", game_id=None, enabled=False)]).applies_to("g1")


def test_the_rules_agent_decodes_a_batch_only_when_a_rule_may_fire_for_its_game():
    from processors.notifications.rules import may_fire

    g1_only = RuleSet([RECEIPT])
    assert may_fire(g1_only, [("game_id", b"g1")]) and not may_fire(g1_only, [("game_id", b"g2")])
    assert may_fire(g1_only, {"game_id": b"g1"}) and not may_fire(g1_only, {"game_id": b"g2"})
    assert may_fire(g1_only, None) and may_fire(g1_only, [("other", b"x")])  # no header: decode to find out
    assert not may_fire(RuleSet([]), [("game_id", b"g1")]) and not may_fire(RuleSet([]), None)
