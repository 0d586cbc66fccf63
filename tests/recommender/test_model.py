"""BM25 + TruncatedSVD, fold-in, top-k and popularity (recommender/model.py)."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.errors import NotEnoughData
from recommender.interactions import build_matrix, columns, interaction_of
from recommender.model import popularity, price_band, segment_keys, top_items, train

NOW = 1_795_000_000_000


def _two_tastes(players: int = 40) -> list:
    """Even players like melee weapons, odd players ranged ones; each has two of their group's three."""
    made = []
    for p in range(players):
        liked = ("sword", "axe", "mace") if p % 2 == 0 else ("bow", "sling", "dart")
        missing = (p // 2) % 3
        for item in liked[:missing] + liked[missing + 1:]:
            made.append(interaction_of(f"p{p}", "item_acquired", {"item_id": item}, NOW))
    return made


def test_a_player_is_recommended_what_their_taste_group_has():
    matrix = build_matrix(columns(_two_tastes()), NOW, 30.0)
    model = train(matrix, factors=4)
    row = matrix.player_index["p4"]  # has sword, axe; not mace
    scores = model.player_factors[row] @ model.item_factors.T
    allowed = matrix.owned[row].toarray().ravel() == 0
    best = matrix.item_ids[top_items(scores, 1, allowed)[0]]
    assert best == "mace"


def test_fold_in_of_a_training_row_gives_its_trained_vector():
    matrix = build_matrix(columns(_two_tastes()), NOW, 30.0)
    model = train(matrix, factors=4)
    for player in ("p0", "p7"):
        folded = model.fold_in(matrix.row_of(player))
        np.testing.assert_allclose(folded, model.player_factors[matrix.player_index[player]], rtol=1e-4, atol=1e-5)
    assert model.fold_in({"unknown-item": 1.0}) is None


def test_small_catalogues_are_padded_to_the_configured_size_and_empty_data_is_refused():
    matrix = build_matrix(columns(_two_tastes()), NOW, 30.0)
    assert train(matrix, factors=16).item_factors.shape == (6, 16)
    with pytest.raises(NotEnoughData, match="need at least 2 players"):
        train(build_matrix(columns(_two_tastes()[:1]), NOW, 30.0), factors=4)


def test_popularity_per_segment_falls_back_from_specific_to_global():
    made = _two_tastes(10) + [interaction_of("p0", "purchase", {"item_id": "crown"}, NOW)]
    matrix = build_matrix(columns(made), NOW, 30.0)
    segments = {f"p{p}": ("ios" if p % 2 == 0 else "android", "DE") for p in range(10)}
    popular = popularity(matrix, segments, per_segment=3)
    assert set(popular["ios|DE"]) == {"sword", "axe", "mace"}
    assert set(popular["android|*"]) == {"bow", "sling", "dart"}
    assert set(popular["*|*"]) <= set(matrix.item_ids)
    assert segment_keys("ios", None) == ["ios|*", "*|*"]
    assert segment_keys(None, None) == ["*|*"]


def test_price_bands():
    assert [price_band(v) for v in (None, 0.0, 0.99, 4.99, 49.0)] == ["free", "free", "low", "mid", "high"]
