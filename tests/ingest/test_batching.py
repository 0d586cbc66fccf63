from ingest.batching import group_by_player


def test_one_batch_per_player_in_first_seen_order_keyed_by_player():
    events = [{"player_id": p, "n": i} for i, p in enumerate(["b", "a", "b", "c", "a"])]
    batches = group_by_player(events, "g1", 1000, 900, None)
    assert [key for key, _ in batches] == [b"b", b"a", b"c"]
    assert [[e["n"] for e in batch["events"]] for _, batch in batches] == [[0, 2], [1, 4], [3]]
    assert all(batch["game_id"] == "g1" and batch["received_at"] == 1000 and batch["sent_at"] == 900 for _, batch in batches)
    assert len({batch["batch_id"] for _, batch in batches}) == 3


def test_no_events_no_batches():
    assert group_by_player([], "g1", 1000, None, None) == []
