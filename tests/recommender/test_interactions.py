"""Play history -> interactions -> the player x item matrix (recommender/interactions.py)."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.interactions import (
    MS_PER_DAY, build_matrix, columns, decay, from_processed_batch, from_rows, interaction_of,
)

NOW = 1_795_000_000_000


@pytest.mark.parametrize(("event_type", "props", "item", "kind", "weight", "owned"), [
    ("purchase", {"item_id": "sword", "amount": 1.99, "currency": "USD"}, "sword", "item", 5.0, True),
    ("item_acquired", {"item_id": "shield"}, "shield", "item", 3.0, True),
    ("achievement", {"achievement_id": "first-win"}, "ach:first-win", "achievement", 2.0, False),
    ("progression", {"level": 3, "status": "complete"}, "level:3", "level", 1.0, False),
    ("progression", {"level": 3, "status": "fail"}, "level:3", "level", 0.3, False),
    ("match_result", {"mode": "ranked", "outcome": "win"}, "mode:ranked", "mode", 1.0, False),
    ("match_result", {"mode": "ranked", "outcome": "loss"}, "mode:ranked", "mode", 0.5, False),
])
def test_each_taste_event_makes_its_weighted_interaction(event_type, props, item, kind, weight, owned):
    made = interaction_of("p1", event_type, props, NOW)
    assert (made.item_id, made.kind, made.weight, made.owned, made.ts_ms) == (item, kind, weight, owned, NOW)


@pytest.mark.parametrize(("event_type", "props"), [
    ("session_start", {}), ("progression", {"level": 2, "status": "start"}), ("purchase", {"amount": 1}),
    ("match_result", {"mode": "ranked", "outcome": "abandoned"}), ("custom.chat", {"text": "hi"}),
])
def test_events_that_say_nothing_about_taste_make_none(event_type, props):
    assert interaction_of("p1", event_type, props, NOW) is None


def test_weights_halve_every_half_life_and_future_events_do_not_grow():
    ts = np.array([NOW, NOW - 30 * MS_PER_DAY, NOW - 60 * MS_PER_DAY, NOW + MS_PER_DAY])
    assert decay(np.full(4, 4.0), ts, NOW, 30.0).tolist() == pytest.approx([4.0, 2.0, 1.0, 4.0])


def test_matrix_sums_decayed_weights_and_keeps_id_maps_and_owned_items():
    made = [
        interaction_of("p2", "purchase", {"item_id": "a"}, NOW),
        interaction_of("p2", "item_acquired", {"item_id": "a"}, NOW - 30 * MS_PER_DAY),
        interaction_of("p1", "match_result", {"mode": "coop", "outcome": "win"}, NOW),
        interaction_of("p1", "item_acquired", {"item_id": "b"}, NOW),
    ]
    matrix = build_matrix(columns(made), NOW, 30.0)
    assert matrix.shape == (2, 3)
    assert list(matrix.player_ids) == ["p1", "p2"] and list(matrix.item_ids) == ["a", "b", "mode:coop"]
    assert matrix.row_of("p2") == pytest.approx({"a": 5.0 + 1.5})
    assert matrix.row_of("p1") == pytest.approx({"b": 3.0, "mode:coop": 1.0})
    assert matrix.owned_by("p1") == ["b"] and matrix.owned_by("p2") == ["a"]
    assert list(matrix.item_kinds) == ["item", "item", "mode"]
    assert matrix.row_of("nobody") == {}


def test_fixed_columns_drop_unknown_items():
    made = [interaction_of("p1", "item_acquired", {"item_id": i}, NOW) for i in ("a", "zzz")]
    matrix = build_matrix(columns(made), NOW, 30.0, item_ids=np.array(["a", "b"], dtype=object))
    assert matrix.shape == (1, 2) and matrix.row_of("p1") == pytest.approx({"a": 3.0})


def test_processed_batches_and_rows_give_the_same_interactions():
    event = {"event_id": "e1", "event_type": "purchase", "player_id": "p1", "ts": NOW, "event_time": NOW,
             "properties": {"item_id": "gem-pack", "amount": 4.99, "currency": "USD"}}
    batch = {"batch_id": "b1", "game_id": "g", "player_id": "p1", "received_at": NOW, "processed_at": NOW,
             "events": [{"event": event, "revenue_usd": 4.99}]}
    from_batch = from_processed_batch(batch)
    from_table = from_rows([("p1", "purchase", event["properties"], NOW, 4.99)])
    assert from_batch == from_table and from_batch[0].revenue_usd == 4.99
