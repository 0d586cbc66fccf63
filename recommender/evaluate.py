"""Offline evaluation: a time-based split, recall@k, NDCG@k and catalog coverage of the model
against a popularity baseline and a random one. Pure: the interactions come in as ``Columns``
(from ``player_events`` via ``recommender.training.load_columns``, or from the simulator in
``operations/simulate.py`` through ``bench/recommender.py``).

Split: everything before ``cutoff_ms`` trains; a player's test items are the ``item``-kind items
they first touched at or after the cutoff (items they already had are not "new"). Players without
training history or without test items are not scored. Every method excludes what the player owned
before the cutoff.

    recall@k   hits in the top k / min(k, test items)   (so a perfect list scores 1 whatever the test size)
    NDCG@k     binary gains, log2 discount, normalised by the ideal list of min(k, test items) hits
    coverage   distinct items recommended to anyone / items of the catalogue (``item`` kind)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recommender.interactions import ITEM, Columns, build_matrix
from recommender.model import top_items, train

SCORE_CHUNK = 4096  # players scored per matrix product


@dataclass(frozen=True)
class Scores:
    method: str
    recall: float
    ndcg: float
    coverage: float
    players: int


@dataclass(frozen=True)
class Evaluation:
    k: int
    cutoff_ms: int
    train_interactions: int
    test_players: int
    catalog: int
    train_seconds: float
    results: tuple[Scores, ...]

    def by_method(self, method: str) -> Scores:
        return next(s for s in self.results if s.method == method)

    def table(self) -> str:
        lines = [f"{'method':<12} {'recall@' + str(self.k):>10} {'NDCG@' + str(self.k):>9} {'coverage':>9}"]
        for s in self.results:
            lines.append(f"{s.method:<12} {s.recall:>10.4f} {s.ndcg:>9.4f} {s.coverage:>9.3f}")
        return "\n".join(lines)


def _metrics(recommended: np.ndarray, truth: list[set[int]], k: int) -> tuple[float, float]:
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    recall = ndcg = 0.0
    for row, relevant in zip(recommended, truth, strict=True):
        hits = np.fromiter((j in relevant for j in row[:k]), dtype=bool, count=min(k, len(row)))
        ideal = min(k, len(relevant))
        recall += hits.sum() / ideal
        ndcg += float((hits * discounts[: len(hits)]).sum() / discounts[:ideal].sum())
    return recall / len(truth), ndcg / len(truth)


def evaluate(cols: Columns, cutoff_ms: int, k: int = 10, factors: int = 64, half_life_days: float = 30.0,
             k1: float = 1.2, b: float = 0.75, seed: int = 0) -> Evaluation:
    before = cols.where(cols.ts_ms < cutoff_ms)
    after = cols.where((cols.ts_ms >= cutoff_ms) & (cols.kind == ITEM))
    matrix = build_matrix(before, cutoff_ms, half_life_days)
    model = train(matrix, factors, k1, b, seed)
    is_item = matrix.item_kinds == ITEM
    catalog = int(is_item.sum())

    # test items per training player: item-kind items first touched after the cutoff
    seen = matrix.weights.tocsr()
    truth_by_row: dict[int, set[int]] = {}
    for player, item in zip(after.player, after.item, strict=True):
        row, column = matrix.player_index.get(player), matrix.item_index.get(item)
        if row is None or column is None:
            continue
        truth_by_row.setdefault(row, set()).add(column)
    rows = []
    truth = []
    for row in sorted(truth_by_row):
        start, end = seen.indptr[row], seen.indptr[row + 1]
        fresh = truth_by_row[row] - set(seen.indices[start:end].tolist())
        if fresh:
            rows.append(row)
            truth.append(fresh)
    rows_arr = np.array(rows, dtype=np.int64)
    owned = matrix.owned.tocsr()
    rng = np.random.default_rng(seed)
    popularity_score = np.asarray(owned.sum(axis=0)).ravel() + np.asarray(matrix.weights.sum(axis=0)).ravel() * 1e-6

    recs: dict[str, list[np.ndarray]] = {"model": [], "popularity": [], "random": []}
    for start in range(0, len(rows_arr), SCORE_CHUNK):
        chunk = rows_arr[start:start + SCORE_CHUNK]
        blocked = owned[chunk].toarray() > 0
        allowed = is_item[None, :] & ~blocked
        scores = model.player_factors[chunk] @ model.item_factors.T
        recs["model"].append(_top(scores, allowed, k))
        recs["popularity"].append(_top(np.broadcast_to(popularity_score, scores.shape), allowed, k))
        recs["random"].append(_top(rng.random(scores.shape), allowed, k))
    results = []
    for method, parts in recs.items():
        recommended = np.concatenate(parts) if parts else np.zeros((0, k), dtype=np.int64)
        if not truth:
            results.append(Scores(method, 0.0, 0.0, 0.0, 0))
            continue
        recall, ndcg = _metrics(recommended, truth, k)
        coverage = len(np.unique(recommended)) / max(catalog, 1)
        results.append(Scores(method, recall, ndcg, coverage, len(truth)))
    return Evaluation(k, cutoff_ms, len(before), len(truth), catalog, model.train_seconds, tuple(results))


def _top(scores: np.ndarray, allowed: np.ndarray, k: int) -> np.ndarray:
    return top_items(np.array(scores, dtype=np.float32), k, allowed)
