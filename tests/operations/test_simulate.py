from operations.simulate import Simulator
from ingest.validation import validate_batch


def test_simulated_events_are_valid_and_sessions_are_bracketed():
    sim = Simulator(players=3, seed=7)
    events = [e for _ in range(200) for e in sim.next_events(10, 1_795_000_000_000)]
    accepted, rejected = validate_batch(events, 1_795_000_000_000, None)
    assert rejected == [] and len(accepted) == 2000
    assert len({e["event_id"] for e in events}) == 2000
    by_session: dict[str, list[str]] = {}
    for e in events:
        by_session.setdefault(e["session_id"], []).append(e["event_type"])
    closed = [types for types in by_session.values() if types[-1] == "session_end"]
    assert closed, "some sessions ended"
    assert all(types[0] == "session_start" and types.count("session_start") == 1 for types in closed)


def test_each_request_holds_one_players_events():
    sim = Simulator(players=50, seed=1)
    for _ in range(20):
        assert len({e["player_id"] for e in sim.next_events(15, 0)}) == 1


def test_same_seed_same_players():
    assert [p.player_id for p in Simulator(5, seed=3).roster] == [p.player_id for p in Simulator(5, seed=3).roster]


def test_batch_size_distributions_parse_and_stay_in_range():
    import random

    import pytest

    from operations.loadgen import BatchSizes

    rng = random.Random(1)
    assert BatchSizes.parse("20").draw(rng) == 20
    uniform = BatchSizes.parse("5-9")
    assert {uniform.draw(rng) for _ in range(500)} == {5, 6, 7, 8, 9}
    geometric = [BatchSizes.parse("exp:20").draw(rng) for _ in range(5000)]
    assert min(geometric) >= 1 and 17 < sum(geometric) / len(geometric) < 23
    for bad in ("0", "9-3", "exp:0", "lots"):
        with pytest.raises(ValueError):
            BatchSizes.parse(bad)


def test_tastes_concentrate_a_groups_picks_on_its_favourites():
    from operations.simulate import Tastes, simulate_history

    tastes = Tastes(items=100, groups=4, favourites=5, focus=0.8, seed=2)
    favourites, popularity = tastes.tables()
    assert favourites.shape == (4, 5) and abs(popularity.sum() - 1) < 1e-9
    history = simulate_history(400, tastes, seed=3)
    items = (history.event_type == "item_acquired") | (history.event_type == "purchase")
    names = {Tastes.item_name(int(i)) for i in favourites[0]}
    group0 = items & (history.tastes[history.player] == 0)
    share = sum(v in names for v in history.value[group0]) / group0.sum()
    assert share > 0.75  # focus 0.8, plus what popularity adds
    assert set(history.event_type) == {"item_acquired", "purchase", "achievement", "match_result"}
    assert (history.amount_usd[history.event_type == "purchase"] > 0).all()


def test_the_session_simulator_with_tastes_draws_items_from_the_players_group():
    from operations.simulate import Tastes

    tastes = Tastes(items=50, groups=2, favourites=3, focus=1.0, seed=1)
    sim = Simulator(players=2, seed=5, tastes=tastes)
    favourites, _ = tastes.tables()
    events = [e for _ in range(300) for e in sim.next_events(10, 1_795_000_000_000)]
    by_player = {p.player_id: p.taste for p in sim.roster}
    picked = [(e["player_id"], e["properties"]["item_id"]) for e in events if e["event_type"] in ("item_acquired", "purchase")]
    assert picked
    for player, item in picked:
        assert item in {Tastes.item_name(int(i)) for i in favourites[by_player[player]]}
    accepted, rejected = validate_batch(events, 1_795_000_000_000, None)
    assert rejected == []
