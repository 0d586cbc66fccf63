"""store/tombstones.py: the pure filter landing calls."""

from __future__ import annotations

from store.privacy import PlayerHasher
from store.tombstones import Tombstone, drop_erased

ERASED_AT = 1_000_000


def batch(player: str, received_at: int, times: list[int]) -> tuple[dict, list[dict]]:
    events = [{"event_id": f"{player}-{t}", "player_id": player, "event_time": t} for t in times]
    return {"game_id": "g", "player_id": player, "received_at": received_at}, events


def test_events_made_or_received_before_the_erase_are_buried_later_ones_are_new_data():
    stones = {("g", "ana"): Tombstone(ERASED_AT, suppressed=False)}
    kept, buried = drop_erased(
        [batch("ana", ERASED_AT - 5, [ERASED_AT - 10]),  # in flight at the erase
         batch("ana", ERASED_AT + 5000, [ERASED_AT - 10, ERASED_AT + 10]),  # a client retry of an old event
         batch("bo", ERASED_AT - 5, [ERASED_AT - 10])],
        stones,
    )
    assert buried == 2
    assert [[e["event_id"] for e in events] for _, events in kept] == [[], [f"ana-{ERASED_AT + 10}"],
                                                                         [f"bo-{ERASED_AT - 10}"]]


def test_a_suppressed_player_is_buried_whatever_the_times():
    kept, buried = drop_erased([batch("ana", ERASED_AT + 10, [ERASED_AT + 20])],
                               {("g", "ana"): Tombstone(ERASED_AT, suppressed=True)})
    assert buried == 1 and kept[0][1] == []


def test_no_tombstones_is_a_no_op():
    batches = [batch("ana", 1, [1])]
    assert drop_erased(batches, {}) == (batches, 0)


def test_the_keyed_hash_depends_on_the_key_and_the_game():
    a, b = PlayerHasher(b"k1"), PlayerHasher(b"k2")
    assert a("g", "ana") == a("g", "ana") != b("g", "ana")
    assert a("g", "ana") != a("h", "ana") and len(a("g", "ana")) == 64
