"""Training, per game: landed events -> interactions -> BM25 + SVD -> new collections -> alias swap.

    (1) read the game's taste-revealing events of the window from player_events, and each
        player's platform and country from players (PostgreSQL)
    (2) interactions -> matrix (recommender.interactions), train (recommender.model)
    (3) write the item and player vectors into new collections named after the model id
    (4) save the model's metadata (id, trained_at, window, metrics, popularity per segment)
    (5) move both aliases to the new collections at once, then drop versions beyond keep_models

Until (5) the API and the worker use the previous model; after it, the new one. A failure before
(5) leaves the previous model live (the half-written collections are dropped on the next run).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import numpy as np
import structlog
from tqdm import tqdm

from gamemetrics import metric_defs as m
from gamemetrics.settings import Settings
from recommender.interactions import ITEM, Columns, InteractionMatrix, build_matrix, columns, from_rows
from recommender.model import FactorModel, popularity, price_band, train
from recommender.settings import RecommenderSettings
from recommender.vectors import point_id
from store.rollups import PLAYERS
from store.tombstones import erased_since_read

if TYPE_CHECKING:  # the store the writes go to: direct, or through the service that owns it (recommender.port)
    from recommender.port import StorePort

log = structlog.get_logger("recommender.training")

TASTE_EVENT_TYPES = ("purchase", "item_acquired", "achievement", "progression", "match_result")
HISTORY_LIMIT = 200  # items kept per player in the player point's payload (the fold-in history), heaviest first


@dataclass(frozen=True)
class TrainedModel:
    game_id: str
    model_id: str
    trained_at: datetime
    window_from: datetime
    window_to: datetime
    matrix: InteractionMatrix
    model: FactorModel
    popular: dict[str, list[str]]
    price_bands: dict[str, str]
    segments: dict[str, tuple[str | None, str | None]]
    metrics: dict[str, float] = field(default_factory=dict)


def new_model_id(now: datetime) -> str:
    return f"m{now:%Y%m%dt%H%M%S}{uuid.uuid4().hex[:4]}"


def fit(cols: Columns, segments: dict[str, tuple[str | None, str | None]], rec: RecommenderSettings, game_id: str,
        now: datetime, window_from: datetime) -> TrainedModel:
    """Pure: train a model of one game from its interaction columns."""
    as_of_ms = int(now.timestamp() * 1000)
    matrix = build_matrix(cols, as_of_ms, rec.half_life_days)
    model = train(matrix, rec.factors, rec.bm25_k1, rec.bm25_b, rec.seed)
    bands: dict[str, str] = {}
    if len(cols.revenue_usd) == len(cols):
        paid = cols.where(np.isfinite(cols.revenue_usd))
        for item in np.unique(paid.item):
            bands[item] = price_band(float(paid.revenue_usd[paid.item == item].mean()))
    metrics = {
        "players": float(matrix.shape[0]), "items": float(matrix.shape[1]), "interactions": float(len(cols)),
        "nonzeros": float(matrix.weights.nnz), "explained_variance": model.explained_variance,
        "train_seconds": model.train_seconds,
    }
    return TrainedModel(game_id, new_model_id(now), now, window_from, now, matrix, model,
                        popularity(matrix, segments, rec.popular_per_segment), bands, segments, metrics)


def player_payload(game_id: str, player_id: str, model_id: str, history: dict[str, float], owned: list[str],
                   segment: tuple[str | None, str | None], as_of_ms: int) -> dict[str, Any]:
    heaviest = sorted(history.items(), key=lambda kv: -kv[1])[:HISTORY_LIMIT]
    return {
        "game_id": game_id, "player_id": player_id, "model_version": model_id,
        "platform": segment[0], "country": segment[1], "owned": sorted(set(owned)),
        "history_items": [k for k, _ in heaviest], "history_weights": [round(v, 6) for _, v in heaviest],
        "as_of_ms": as_of_ms,
    }


async def publish(store: StorePort, trained: TrainedModel, rec: RecommenderSettings, show_progress: bool = False,
                  erased: Callable[[list[str]], set[str]] | None = None) -> None:
    """Steps (3)-(5): write the collections and metadata, swap the aliases, drop old versions. ``erased``: the
    players erased since the data was read, dropped from the new collections before the swap (an erase after
    this check deletes from every collection, the new ones included)."""
    game, model_id, matrix, model = trained.game_id, trained.model_id, trained.matrix, trained.model
    await store.create_model_collections(game, model_id, model.factors)
    item_payloads = [
        {"game_id": game, "item_id": item, "kind": kind, "price_band": trained.price_bands.get(item, "free"),
         "model_version": model_id, "idf": float(model.bm25.idf[j])}
        for j, (item, kind) in enumerate(zip(matrix.item_ids, matrix.item_kinds, strict=True))
    ]
    total = len(matrix.item_ids) + len(matrix.player_ids)
    with tqdm(total=total, desc=f"{game} {model_id}", unit="vec", disable=not show_progress) as progress:
        await store.upsert(store.names.collection(game, "items", model_id),
                           [point_id(game, i) for i in matrix.item_ids], model.item_factors, item_payloads, progress)
        weights, owned = matrix.weights.tocsr(), matrix.owned.tocsr()
        player_payloads = []
        for row, player in enumerate(matrix.player_ids):
            w0, w1 = weights.indptr[row], weights.indptr[row + 1]
            o0, o1 = owned.indptr[row], owned.indptr[row + 1]
            history = {matrix.item_ids[j]: float(v) for j, v in zip(weights.indices[w0:w1], weights.data[w0:w1])}
            player_payloads.append(player_payload(
                game, player, model_id, history, [matrix.item_ids[j] for j in owned.indices[o0:o1]],
                trained.segments.get(player, (None, None)), matrix.as_of_ms))
        await store.upsert(store.names.collection(game, "players", model_id),
                           [point_id(game, p) for p in matrix.player_ids], model.player_factors, player_payloads, progress)
    await store.save_model_meta(game, model_id, {
        "trained_at": trained.trained_at.isoformat(), "window_from": trained.window_from.isoformat(),
        "window_to": trained.window_to.isoformat(), "factors": model.factors, "metrics": trained.metrics,
        "bm25": {"avg_len": model.bm25.avg_len, "k1": model.bm25.k1, "b": model.bm25.b},
        "half_life_days": rec.half_life_days, "popular": trained.popular,
        "other_kinds": int((matrix.item_kinds != ITEM).sum()),
    })
    for player in sorted(erased(list(matrix.player_ids)) if erased is not None else ()):
        await store.delete_player(game, player)
    await store.swap(game, model_id)
    dropped = await store.drop_models(game, rec.keep_models)
    log.info("model_live", game_id=game, model_id=model_id, dropped=dropped, **trained.metrics)


def load_columns(settings: Settings, game_id: str, since: datetime) -> tuple[Columns, dict[str, tuple[str | None, str | None]]]:
    """Step (1): the game's interactions since ``since`` and its players' segments, from PostgreSQL."""
    from store import db

    with db.connect(settings) as conn:
        rows = conn.execute(
            "SELECT player_id, event_type, properties, event_time, revenue_usd FROM player_events "
            "WHERE game_id = %s AND event_time >= %s AND event_type = ANY(%s)",
            (game_id, since, list(TASTE_EVENT_TYPES)),
        ).fetchall()
        segments = {p: (pl, c) for p, pl, c in conn.execute(
            f"SELECT player_id, platform, country FROM {PLAYERS.table} WHERE game_id = %s", (game_id,))}
    return columns(from_rows(rows)), segments


async def train_game(settings: Settings, rec: RecommenderSettings, store: StorePort, game_id: str,
                     now: datetime | None = None, show_progress: bool = False) -> TrainedModel:
    """Train and publish one game's model from its landed events."""
    now = now or datetime.now(timezone.utc)
    since = now - timedelta(days=rec.window_days)
    started = time.perf_counter()
    cols, segments = load_columns(settings, game_id, since)
    trained = fit(cols, segments, rec, game_id, now, since)
    await publish(store, trained, rec, show_progress, erased=lambda players: erased_since_read(
        settings, game_id, players, int(now.timestamp() * 1000)))
    m.RECOMMENDER_TRAININGS.labels("ok").inc()
    m.RECOMMENDER_TRAIN_SECONDS.observe(time.perf_counter() - started)
    return trained


def catalog_items(trained: TrainedModel) -> list[str]:
    return [i for i, k in zip(trained.matrix.item_ids, trained.matrix.item_kinds, strict=True) if k == ITEM]
