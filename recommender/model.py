"""The model: BM25-weighted player x item matrix, factorised by TruncatedSVD. Pure (numpy, scikit-learn).

Why this and not implicit ALS: TruncatedSVD is scikit-learn's (randomized, seeded: the same data
trains the same model), handles a 100k x 2k sparse matrix in seconds on one core, and its fold-in
is a projection: a player's new vector is their weighted row times the item factors, O(items
touched x factors), with no solve; so the fold-in worker keeps up with the processed topic at
little CPU. BM25 weighting (the IR scheme applied to interactions, as in Rendle's and implicit's
``bm25_weight``) damps the most popular items and heavy players, which plain counts let dominate
the factors. ALS would weight unobserved entries explicitly and is often a little more accurate on
implicit data, but needs an alternating least-squares loop and a k x k solve per fold-in; the
evaluation (bench/recommender.py) shows SVD already beats popularity by the required margin.

Vectors: an item's is its row of ``V`` (components_.T); a player's is ``bm25(row) @ V`` (= U·Σ, the
projection). ``player · item`` is the SVD reconstruction of the player's weighted row: the score.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD

from recommender.errors import NotEnoughData
from recommender.interactions import ITEM, InteractionMatrix

MIN_PLAYERS = 2
MIN_ITEMS = 2


@dataclass(frozen=True)
class Bm25:
    """BM25 weighting of interaction rows: idf per item, the mean row mass, k1 and b."""

    idf: np.ndarray
    avg_len: float
    k1: float
    b: float

    @classmethod
    def fit(cls, weights: sp.csr_matrix, k1: float, b: float) -> Bm25:
        players = weights.shape[0]
        df = np.bincount(weights.indices, minlength=weights.shape[1]).astype(np.float64)
        idf = np.log1p((players - df + 0.5) / (df + 0.5))
        avg = float(weights.sum(axis=1).mean()) if players else 1.0
        return cls(idf.astype(np.float32), max(avg, 1e-9), k1, b)

    def weigh(self, weights: sp.csr_matrix) -> sp.csr_matrix:
        out = weights.tocsr(copy=True).astype(np.float32)
        lengths = np.asarray(out.sum(axis=1)).ravel()
        norm = self.k1 * (1.0 - self.b + self.b * lengths / self.avg_len)
        row_norm = np.repeat(norm, np.diff(out.indptr))
        out.data = out.data * (self.k1 + 1.0) / (out.data + row_norm) * self.idf[out.indices]
        return out

    def weigh_row(self, columns: np.ndarray, values: np.ndarray) -> np.ndarray:
        length = float(values.sum())
        norm = self.k1 * (1.0 - self.b + self.b * length / self.avg_len)
        return (values * (self.k1 + 1.0) / (values + norm) * self.idf[columns]).astype(np.float32)


@dataclass(frozen=True)
class FactorModel:
    """Trained factors and what fold-in needs; ``player_factors`` rows follow ``player_ids``."""

    item_ids: np.ndarray
    item_kinds: np.ndarray
    item_factors: np.ndarray  # items x factors, float32
    player_ids: np.ndarray
    player_factors: np.ndarray  # players x factors, float32
    bm25: Bm25
    explained_variance: float
    train_seconds: float

    @property
    def factors(self) -> int:
        return self.item_factors.shape[1]

    def item_index(self) -> dict[str, int]:
        return {item: j for j, item in enumerate(self.item_ids)}

    def fold_in(self, row: Mapping[str, float], index: Mapping[str, int] | None = None) -> np.ndarray | None:
        return fold_in(self.bm25, self.item_factors, index if index is not None else self.item_index(), row)


def fold_in(bm25: Bm25, item_factors: np.ndarray, index: Mapping[str, int], row: Mapping[str, float]) -> np.ndarray | None:
    """A player's vector from their decayed weights by item id: the BM25-weighted row projected on the
    item factors (unknown items ignored); None when no item of the row is in the model."""
    pairs = [(index[item], w) for item, w in row.items() if item in index and w > 0]
    if not pairs:
        return None
    columns = np.fromiter((j for j, _ in pairs), dtype=np.int64, count=len(pairs))
    values = np.fromiter((w for _, w in pairs), dtype=np.float32, count=len(pairs))
    return bm25.weigh_row(columns, values) @ item_factors[columns]


def train(matrix: InteractionMatrix, factors: int, k1: float = 1.2, b: float = 0.75, seed: int = 0) -> FactorModel:
    """Fit BM25 + TruncatedSVD on ``matrix``; raises NotEnoughData on a matrix too small to factorise."""
    players, items = matrix.shape
    if players < MIN_PLAYERS or items < MIN_ITEMS or matrix.weights.nnz == 0:
        raise NotEnoughData(
            f"{players} players x {items} items ({matrix.weights.nnz} interactions): need at least "
            f"{MIN_PLAYERS} players and {MIN_ITEMS} items with purchases, acquisitions, achievements, levels or matches"
        )
    started = time.perf_counter()
    bm25 = Bm25.fit(matrix.weights, k1, b)
    weighted = bm25.weigh(matrix.weights)
    rank = max(1, min(factors, items - 1, players - 1))
    svd = TruncatedSVD(n_components=rank, algorithm="randomized", n_iter=5, random_state=seed)
    player_factors = svd.fit_transform(weighted).astype(np.float32)
    item_factors = svd.components_.T.astype(np.float32)
    if rank < factors:  # pad tiny catalogues so every model of a deployment has the configured size
        item_factors = np.pad(item_factors, ((0, 0), (0, factors - rank)))
        player_factors = np.pad(player_factors, ((0, 0), (0, factors - rank)))
    return FactorModel(matrix.item_ids, matrix.item_kinds, item_factors, matrix.player_ids, player_factors, bm25,
                       float(svd.explained_variance_ratio_.sum()), time.perf_counter() - started)


def top_items(scores: np.ndarray, k: int, allowed: np.ndarray | None = None) -> np.ndarray:
    """Column indices of the ``k`` best ``scores`` (rows: players), best first, among ``allowed`` (bool mask)."""
    scores = scores.copy()
    if allowed is not None:
        scores[..., ~allowed] = -np.inf
    k = min(k, scores.shape[-1])
    part = np.argpartition(-scores, k - 1, axis=-1)[..., :k]
    order = np.take_along_axis(scores, part, axis=-1)
    return np.take_along_axis(part, np.argsort(-order, axis=-1), axis=-1)


# -- popularity (cold start) and price bands ------------------------------------------------------

ANY = "*"
PRICE_BANDS = ((0.0, "free"), (2.0, "low"), (10.0, "mid"), (float("inf"), "high"))


def segment_keys(platform: str | None, country: str | None) -> list[str]:
    """The popularity lists a player of (platform, country) falls back through, most specific first."""
    p, c = platform or ANY, country or ANY
    keys = [f"{p}|{c}", f"{p}|{ANY}", f"{ANY}|{c}", f"{ANY}|{ANY}"]
    return list(dict.fromkeys(keys))


def price_band(mean_revenue_usd: float | None) -> str:
    """free (never paid for), low (< 2 USD), mid (< 10 USD), high."""
    if mean_revenue_usd is None or not np.isfinite(mean_revenue_usd) or mean_revenue_usd <= 0:
        return "free"
    for upper, band in PRICE_BANDS[1:]:
        if mean_revenue_usd < upper:
            return band
    return "high"


def popularity(matrix: InteractionMatrix, segments: Mapping[str, tuple[str | None, str | None]],
               per_segment: int) -> dict[str, list[str]]:
    """Most-owned ``item``-kind items per segment key (``platform|country``, ``platform|*``,
    ``*|country``, ``*|*``), best first: distinct owners, then decayed weight."""
    is_item = matrix.item_kinds == ITEM
    weight = np.asarray(matrix.weights.sum(axis=0)).ravel()
    groups: dict[str, list[int]] = {}
    for row, player in enumerate(matrix.player_ids):
        platform, country = segments.get(player, (None, None))
        for key in segment_keys(platform, country):
            groups.setdefault(key, []).append(row)
    groups.setdefault(f"{ANY}|{ANY}", list(range(len(matrix.player_ids))))
    out: dict[str, list[str]] = {}
    owned_csr = matrix.owned.tocsr()
    for key, rows in groups.items():
        counts = np.asarray(owned_csr[rows].sum(axis=0)).ravel() if rows else np.zeros(len(matrix.item_ids))
        score = counts + weight / (weight.max() + 1.0) * 0.5  # ties broken by weight
        score[~is_item] = -np.inf
        ranked = np.argsort(-score, kind="stable")[:per_segment]
        out[key] = [matrix.item_ids[j] for j in ranked if np.isfinite(score[j]) and (counts[j] > 0 or weight[j] > 0)]
    return out
