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
