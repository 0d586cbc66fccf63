"""The in-memory live views (``graphql_api/live.py``): windows per game, fan-out, slow subscribers."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from graphql_api.live import ACTIVE_WINDOW_S, SETTLE_S, LiveHub, LiveRecord, LiveWindow
from graphql_api.types import LiveEvent

T0 = 1_800_000_000  # a whole second


def event(kind: str = "session_start", revenue: float | None = None, player: str = "p") -> LiveEvent:
    now = datetime.now(timezone.utc)
    return LiveEvent(event_id=kind + player, event_type=kind, player_id=player, event_time=now, processed_at=now,
                     session_id=None, platform=None, app_version=None, country=None, properties={}, revenue_usd=revenue,
                     is_new_player=False, session_seq=None, delay_ms=None)


def record(game: str, player: str, second: int, *events: LiveEvent) -> LiveRecord:
    return LiveRecord(game, player, second * 1000 + 250, list(events))


def test_a_window_counts_the_settled_second_the_minute_and_distinct_players():
    window = LiveWindow()
    window.add(T0, "a", 3, 4.99)
    window.add(T0, "b", 1, 0.0)
    window.add(T0 + 1, "a", 2, 0.99)
    window.add(T0 - 70, "c", 5, 100.0)  # older than a minute, younger than 5
    snap = window.snapshot(T0 + SETTLE_S + 0.4)  # reports second T0
    assert (snap.second, snap.events_per_second) == (T0, 4)
    assert snap.events_last_minute == 4  # T0 + 1 is not settled yet; T0 - 70 is out of the minute
    assert snap.active_players == 3  # a, b, c
    assert snap.revenue_last_minute_usd == 4.99
    later = window.snapshot(T0 + SETTLE_S + 1.1)
    assert (later.events_per_second, later.events_last_minute, later.revenue_last_minute_usd) == (2, 6, 5.98)


def test_players_leave_the_window_after_five_minutes():
    window = LiveWindow()
    window.add(T0, "a", 1, 0.0)
    window.add(T0 + 100, "a", 1, 0.0)
    window.add(T0 + 10, "b", 1, 0.0)
    assert window.snapshot(T0 + ACTIVE_WINDOW_S + 5).active_players == 2  # a (second T0 + 100) and b
    assert window.snapshot(T0 + ACTIVE_WINDOW_S + 15).active_players == 1  # b and a's first second are gone
    assert window.snapshot(T0 + ACTIVE_WINDOW_S + 101).active_players == 0
    assert window.empty


def test_the_hub_keeps_games_apart_and_reports_snapshots():
    clock = [T0 + SETTLE_S + 0.5]
    hub = LiveHub(subscriber_buffer=10, clock=lambda: clock[0])
    hub.publish([record("g1", "a", T0, event(), event("purchase", 2.5)), record("g2", "z", T0, event())])
    metrics = hub.metrics("g1")
    assert (metrics.events_per_second, metrics.active_players_5m, metrics.revenue_last_minute_usd) == (2, 1, 2.5)
    assert metrics.second == datetime.fromtimestamp(T0, timezone.utc)
    assert hub.metrics("unknown").events_last_minute == 0
    clock[0] += ACTIVE_WINDOW_S + 10
    hub.sweep()
    assert hub.metrics("g1").active_players_5m == 0


def test_subscribers_get_their_game_and_types_in_batches():
    async def scenario():
        hub = LiveHub(subscriber_buffer=10, clock=lambda: T0)
        with hub.subscribe("g1", None) as everything, hub.subscribe("g1", frozenset({"purchase"})) as buys, \
                hub.subscribe("g2", None) as other:
            hub.publish([record("g1", "a", T0, event(), event("purchase", 1.0)), record("g1", "b", T0, event("purchase", 2.0, "b"))])
            all_events, dropped = await everything.next_batch(100)
            buy_events, _ = await buys.next_batch(100)
            assert hub.subscriber_count() == 3
            nothing = asyncio.ensure_future(other.next_batch(100))
            await asyncio.sleep(0.05)
            assert not nothing.done()
            nothing.cancel()
        assert hub.subscriber_count() == 0
        return all_events, dropped, buy_events

    all_events, dropped, buy_events = asyncio.run(scenario())
    assert [e.event_type for e in all_events] == ["session_start", "purchase", "purchase"] and dropped == 0
    assert [e.revenue_usd for e in buy_events] == [1.0, 2.0]


def test_a_slow_subscriber_loses_its_oldest_events_and_is_told_how_many():
    async def scenario():
        hub = LiveHub(subscriber_buffer=3, clock=lambda: T0)
        with hub.subscribe("g", None) as slow:
            hub.publish([record("g", "a", T0, *[event(player=str(i)) for i in range(5)])])
            first = await slow.next_batch(2)
            second = await slow.next_batch(10)
        return first, second

    (first, dropped), (rest, dropped_after) = asyncio.run(scenario())
    assert [e.player_id for e in first] == ["2", "3"] and dropped == 2
    assert [e.player_id for e in rest] == ["4"] and dropped_after == 0


def test_the_warm_up_replay_fills_the_windows_but_is_not_sent_to_subscribers():
    async def scenario():
        hub = LiveHub(subscriber_buffer=10, clock=lambda: T0 + SETTLE_S)
        with hub.subscribe("g", None) as subscriber:
            hub.publish([LiveRecord("g", "old", T0 * 1000, [event(player="old")], replayed=True)])
            hub.publish([record("g", "new", T0, event(player="new"))])
            events, _ = await subscriber.next_batch(10)
        return hub.metrics("g"), events

    metrics, events = asyncio.run(scenario())
    assert metrics.active_players_5m == 2 and metrics.events_per_second == 2
    assert [e.player_id for e in events] == ["new"]


def test_a_reset_forgets_windows_and_dead_letters():
    hub = LiveHub(subscriber_buffer=10, clock=lambda: T0 + SETTLE_S)
    hub.publish([record("g", "a", T0, event())])
    hub.count_dead_letters(["undecodable", "undecodable"])
    hub.caught_up = True
    hub.reset()
    assert (hub.metrics("g").active_players_5m, sum(hub.dead_letters.values()), hub.caught_up) == (0, 0, False)
