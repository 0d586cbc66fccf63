"""Fold new play into players' vectors, the step the worker runs for every processed batch:

    (1) interactions of the batches (recommender.interactions), grouped by (game, player); batches
        the live model already saw (processed before it was trained) or already folded are skipped
    (2) the player's stored history (payload of their point): its weights decayed to now, plus the
        new interactions decayed from their event time
    (3) vector = BM25(history) @ item factors (the SVD projection; recommender.model.fold_in)
    (4) upsert the player's point (vector + history + owned items + segment + recent batch ids)
    (5) drop the player's cached answers (Redis), so the next request recomputes
    (6) their new top items -> a Recommendations record, returned for the caller to publish

Replays of player.events.processed (it is at-least-once) are recognised by batch id (the last
``RECENT_BATCHES`` of each player are kept in the payload), so a batch is folded in once.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np
import structlog

from gamemetrics import metric_defs as m
from recommender.cache import AnswerCache
from recommender.interactions import MS_PER_DAY, Interaction, from_processed_batch
from recommender.model import Bm25, fold_in
from recommender.settings import RecommenderSettings
from recommender.training import player_payload
from recommender.vectors import VectorStore
from store.tombstones import TombstoneCheck

log = structlog.get_logger("recommender.foldin")

RECENT_BATCHES = 32


@dataclass(frozen=True)
class Basis:
    """What fold-in needs of a game's live model."""

    model_id: str
    trained_at_ms: int
    index: dict[str, int]
    item_factors: np.ndarray
    bm25: Bm25
    half_life_days: float
    others: int  # items of other kinds than "item"
    read_at: float


def _ms(value: Any) -> int:
    return int(value.timestamp() * 1000) if isinstance(value, datetime) else int(value)


@dataclass
class Pending:
    game_id: str
    player_id: str
    interactions: list[Interaction]
    batch_ids: list[str]
    platform: str | None
    country: str | None
    processed_at_ms: int


class FoldIn:
    def __init__(self, store: VectorStore, cache: AnswerCache, rec: RecommenderSettings,
                 tombstones: TombstoneCheck | None = None) -> None:
        self.tombstones = tombstones
        self.store = store
        self.cache = cache
        self.rec = rec
        self._bases: dict[str, Basis | None] = {}
        self._checked: dict[str, float] = {}

    async def basis(self, game_id: str) -> Basis | None:
        now = time.monotonic()
        known = self._bases.get(game_id)
        if game_id in self._bases and now - self._checked.get(game_id, 0.0) < self.rec.model_refresh_s:
            return known
        self._checked[game_id] = now
        live = await self.store.live_model_id(game_id)
        if live is None:
            self._bases[game_id] = None
            return None
        if known is not None and known.model_id == live:
            return known
        items = await self.store.item_vectors(game_id)
        meta = await self.store.model_meta(game_id, live) or {}
        if items is None or not len(items.item_ids):
            self._bases[game_id] = None
            return None
        payloads = await self._idf(game_id, live, items.item_ids)
        bm = meta.get("bm25") or {}
        basis = Basis(live, _ms(datetime.fromisoformat(meta["trained_at"])) if "trained_at" in meta else 0,
                      {item: j for j, item in enumerate(items.item_ids)}, items.vectors,
                      Bm25(payloads, float(bm.get("avg_len", 1.0)), float(bm.get("k1", self.rec.bm25_k1)),
                           float(bm.get("b", self.rec.bm25_b))),
                      float(meta.get("half_life_days", self.rec.half_life_days)),
                      int((items.kinds != "item").sum()), now)
        self._bases[game_id] = basis
        log.info("fold_in_model", game_id=game_id, model_id=live, items=len(items.item_ids))
        return basis

    async def _idf(self, game_id: str, model_id: str, item_ids: np.ndarray) -> np.ndarray:
        collection = self.store.names.collection(game_id, "items", model_id)
        idf: dict[str, float] = {}
        offset = None
        while True:
            points, offset = await self.store.client.scroll(collection, limit=1000, offset=offset,
                                                            with_payload=["item_id", "idf"], with_vectors=False)
            for p in points:
                idf[p.payload["item_id"]] = float(p.payload.get("idf", 1.0))
            if offset is None:
                break
        return np.array([idf.get(i, 1.0) for i in item_ids], dtype=np.float32)

    @staticmethod
    def pending(batches: Sequence[Mapping[str, Any]]) -> list[Pending]:
        """Step (1), pure: the batches' interactions by (game, player), in arrival order."""
        by_player: dict[tuple[str, str], Pending] = {}
        for batch in batches:
            made = from_processed_batch(batch)
            if not made:
                continue
            key = (batch["game_id"], batch["player_id"])
            first = batch["events"][0]["event"]
            entry = by_player.get(key)
            if entry is None:
                entry = by_player[key] = Pending(key[0], key[1], [], [], first.get("platform"), first.get("country"), 0)
            entry.interactions += made
            entry.batch_ids.append(str(batch["batch_id"]))
            entry.processed_at_ms = max(entry.processed_at_ms, _ms(batch["processed_at"]))
        return list(by_player.values())

    async def apply(self, batches: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Steps (1)-(6) for some processed batches, a few Qdrant requests per game (not per player);
        the Recommendations records to publish."""
        by_game: dict[str, list[Pending]] = {}
        entries = self.pending(batches)
        if self.tombstones is not None:  # an erased player is not rebuilt from the processed topic
            gone = await self.tombstones.erased([(e.game_id, e.player_id, e.processed_at_ms) for e in entries])
            entries = [e for e in entries if (e.game_id, e.player_id) not in gone]
        for entry in entries:
            by_game.setdefault(entry.game_id, []).append(entry)
        records: list[dict[str, Any]] = []
        for game_id, entries in by_game.items():
            records += await self._fold_game(game_id, entries)
        return records

    async def _fold_game(self, game_id: str, entries: list[Pending]) -> list[dict[str, Any]]:
        basis = await self.basis(game_id)
        if basis is None:
            m.RECOMMENDER_FOLD_INS.labels("no_model").inc(len(entries))
            return []
        seen_by_model = [e for e in entries if e.processed_at_ms < basis.trained_at_ms]
        if seen_by_model:  # landed before the model was trained: it is in the model already
            m.RECOMMENDER_FOLD_INS.labels("in_model").inc(len(seen_by_model))
            entries = [e for e in entries if e.processed_at_ms >= basis.trained_at_ms]
        if not entries:
            return []
        stored = await self.store.players(game_id, [e.player_id for e in entries])
        now_ms = int(time.time() * 1000)
        updates: list[tuple[str, np.ndarray, dict[str, Any]]] = []
        owned_of: list[list[str]] = []
        latest: list[Pending] = []
        for entry in entries:
            point = stored.get(entry.player_id)
            payload = point.payload if point is not None else {}
            seen = set(payload.get("recent_batches") or [])
            fresh = [b for b in entry.batch_ids if b not in seen]
            if not fresh:
                m.RECOMMENDER_FOLD_INS.labels("already_folded").inc()
                continue
            # (2) the stored history decayed to now, plus the new interactions
            factor = 2.0 ** (-max(now_ms - int(payload.get("as_of_ms", now_ms)), 0) / MS_PER_DAY / basis.half_life_days)
            history = {item: w * factor for item, w in (point.history if point is not None else {}).items()}
            owned = set(point.owned if point is not None else [])
            for i in entry.interactions:
                age_days = max(now_ms - i.ts_ms, 0) / MS_PER_DAY
                history[i.item_id] = history.get(i.item_id, 0.0) + i.weight * 2.0 ** (-age_days / basis.half_life_days)
                if i.owned:
                    owned.add(i.item_id)
            # (3) the projection
            vector = fold_in(basis.bm25, basis.item_factors, basis.index, history)
            if vector is None:
                m.RECOMMENDER_FOLD_INS.labels("no_items").inc()
                continue
            segment = (payload.get("platform") or entry.platform, payload.get("country") or entry.country)
            new_payload = player_payload(game_id, entry.player_id, basis.model_id, history, sorted(owned), segment, now_ms)
            new_payload["recent_batches"] = (list(payload.get("recent_batches") or []) + fresh)[-RECENT_BATCHES:]
            updates.append((entry.player_id, vector, new_payload))
            owned_of.append(sorted(owned))
            latest.append(entry)
        if not updates:
            return []
        # (4) upsert, (5) invalidate, (6) new top items
        await self.store.upsert_players(game_id, updates)
        await self.cache.invalidate_many(game_id, [u[0] for u in updates])
        tops = await self.store.search_items_many(game_id, [(u[1], o) for u, o in zip(updates, owned_of, strict=True)],
                                                  self.rec.default_k, others=basis.others)
        generated = datetime.now(timezone.utc)
        records = []
        for (player_id, _, _), entry, items in zip(updates, latest, tops, strict=True):
            m.RECOMMENDER_FOLD_INS.labels("updated").inc()
            m.RECOMMENDER_FOLD_IN_SECONDS.observe(max(0.0, (time.time() * 1000 - entry.processed_at_ms) / 1000))
            log.debug("folded_in", game_id=game_id, player_id=player_id, model_id=basis.model_id,
                      interactions=len(entry.interactions), batch_ids=entry.batch_ids)
            records.append({"game_id": game_id, "player_id": player_id, "generated_at": generated,
                            "model_version": basis.model_id,
                            "items": [{"item_id": i, "score": float(s)} for i, s in items]})
        return records
