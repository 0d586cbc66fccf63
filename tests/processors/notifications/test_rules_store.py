"""processors/notifications/rules_store.py: rules in PostgreSQL, and the agents' refreshing cache."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from store import db
from store.games import create_game
from processors.notifications.errors import RuleError
from processors.notifications.rules import Rule
from processors.notifications.rules_store import RuleCache, add_rule, fetch_enabled_rules, list_rules, set_enabled

RECEIPT = Rule("receipt", "purchase", "email", "Receipt for $item_id", "${player_id}@players.example")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_cache_reloads_only_when_its_rules_are_older_than_the_refresh():
    loaded: list[list[Rule]] = [[RECEIPT], [RECEIPT, Rule("b", "achievement", "push", "x", "p:$player_id")]]
    calls = []

    async def load() -> list[Rule]:
        calls.append(1)
        return loaded[min(len(calls), 2) - 1]

    clock = FakeClock()
    cache = RuleCache(load, refresh_s=30.0, clock=clock)

    async def scenario() -> list[int]:
        sizes = [len(await cache.current())]
        clock.now += 29
        sizes.append(len(await cache.current()))
        clock.now += 1
        sizes.append(len(await cache.current()))
        return sizes

    assert asyncio.run(scenario()) == [1, 1, 2]
    assert len(calls) == 2


def enabled_rules(settings) -> list[Rule]:
    async def fetch() -> list[Rule]:
        conn = await db.connect_async(settings)
        try:
            return await fetch_enabled_rules(conn)
        finally:
            await conn.close()

    return asyncio.run(fetch())


@pytest.mark.integration
def test_added_rules_are_listed_and_only_enabled_well_formed_ones_load(isolated):
    with db.connect(isolated) as conn:
        game = create_game(conn, f"Rules {uuid.uuid4().hex[:6]}")
        whale = Rule("whale", "purchase", "webhook", "$player_id spent $threshold_usd", "https://crm.example/h",
                     game_id=game.game_id, lifetime_spend_threshold_usd=100.0)
        add_rule(conn, RECEIPT)
        add_rule(conn, whale)
        add_rule(conn, Rule("quiet", "achievement", "push", "x", "p:$player_id", enabled=False))
        # a row written by hand with a broken template must not stop the others
        conn.execute("INSERT INTO notification_rules (rule_id, event_type, channel, template, target) "
                     "VALUES ('broken', 'purchase', 'sms', 'Hi ${', '+33600000000')")
        conn.commit()
        assert [r.rule_id for r in list_rules(conn)] == ["broken", "quiet", "receipt", "whale"]
        assert [r.rule_id for r in list_rules(conn, game_id="other")] == ["broken", "quiet", "receipt"]
    assert enabled_rules(isolated) == [RECEIPT, whale]
    with db.connect(isolated) as conn:
        set_enabled(conn, "whale", False)
    assert enabled_rules(isolated) == [RECEIPT]


@pytest.mark.integration
def test_bad_rules_are_refused_with_the_reason(isolated):
    with db.connect(isolated) as conn:
        with pytest.raises(RuleError, match="channel: 'fax' is not one of"):
            add_rule(conn, Rule("r", "purchase", "fax", "x", "y"))
        with pytest.raises(RuleError, match="game_id 'no-such-game' is not a game"):
            add_rule(conn, Rule("r", "purchase", "push", "x", "p:$player_id", game_id="no-such-game"))
        add_rule(conn, RECEIPT)
        with pytest.raises(RuleError, match="rule_id 'receipt' already exists"):
            add_rule(conn, RECEIPT)
        with pytest.raises(RuleError, match="no rule 'nope'"):
            set_enabled(conn, "nope", True)
        assert list_rules(conn) == [RECEIPT]
