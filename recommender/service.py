"""What the API answers: a player's recommended items and similar players, cache-aside over Qdrant.

    recommend(game, player, k, exclude_owned, platform, country)
        live model of the game (re-read every model_refresh_s)
        -> cache field {model}|rec|k|x|p|c of the player's hash: hit -> answer
        -> miss: player's point (vector, owned, segment) from the players alias
             vector  -> items alias, DOT, kind=item, owned items filtered out      "strategy": "personal"
             none    -> popularity of the player's segment (platform|country, then  "strategy": "popular"
                        platform|*, *|country, *|*), owned items removed
    similar(game, player, k) -> players alias, COSINE, the player left out        "strategy": "similar"
                               (an unknown player: an empty list, "strategy": "popular")
Answers are JSON bytes (orjson), cached as they are sent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson

from recommender.cache import AnswerCache, Source
from recommender.errors import NoModel
from recommender.model import segment_keys
from recommender.settings import RecommenderSettings
from recommender.vectors import VectorStore


@dataclass(frozen=True)
class LiveModel:
    model_id: str
    popular: dict[str, list[str]]
    others: int  # points of other kinds than "item" in the items collection
    read_at: float


class Recommender:
    def __init__(self, store: VectorStore, cache: AnswerCache, rec: RecommenderSettings) -> None:
        self.store = store
        self.cache = cache
        self.rec = rec
        self._models: dict[str, LiveModel] = {}

    async def live_model(self, game_id: str) -> LiveModel:
        known = self._models.get(game_id)
        if known is not None and time.monotonic() - known.read_at < self.rec.model_refresh_s:
            return known
        model_id = await self.store.live_model_id(game_id)
        if model_id is None:
            raise NoModel(f"no model for game {game_id!r} yet: run `gamemetrics recommender train --game {game_id}`")
        if known is not None and known.model_id == model_id:
            fresh = LiveModel(model_id, known.popular, known.others, time.monotonic())
        else:
            meta = await self.store.model_meta(game_id, model_id) or {}
            fresh = LiveModel(model_id, dict(meta.get("popular") or {}), int(meta.get("other_kinds", 0)),
                              time.monotonic())
        self._models[game_id] = fresh
        return fresh

    def fresh_model(self, game_id: str) -> LiveModel | None:
        """The game's live model as last read, if read within model_refresh_s (no I/O: the fast path's)."""
        known = self._models.get(game_id)
        if known is not None and time.monotonic() - known.read_at < self.rec.model_refresh_s:
            return known
        return None

    @staticmethod
    def field_of(model_id: str, k: int, exclude_owned: bool, platform: str | None, country: str | None) -> str:
        """The cache field of a recommendations query (one definition: the app and the fast path use it)."""
        return f"{model_id}|rec|k={k}|x={int(exclude_owned)}|p={platform or ''}|c={country or ''}"

    async def recommend(self, game_id: str, player_id: str, k: int, exclude_owned: bool = True,
                        platform: str | None = None, country: str | None = None) -> tuple[bytes, Source]:
        model = await self.live_model(game_id)
        field = self.field_of(model.model_id, k, exclude_owned, platform, country)

        async def compute() -> bytes:
            return orjson.dumps(await self._recommend(model, game_id, player_id, k, exclude_owned, platform, country))

        return await self.cache.get_or_compute(game_id, player_id, field, compute)

    async def _recommend(self, model: LiveModel, game_id: str, player_id: str, k: int, exclude_owned: bool,
                         platform: str | None, country: str | None) -> dict[str, Any]:
        point = await self.store.player(game_id, player_id)
        owned = point.owned if point is not None and exclude_owned else []
        answer: dict[str, Any] = {"game_id": game_id, "player_id": player_id, "model_version": model.model_id}
        if point is not None and point.vector is not None and float(abs(point.vector).sum()) > 0:
            items = await self.store.search_items(game_id, point.vector, k, owned, others=model.others)
            return {**answer, "strategy": "personal", "items": [{"item_id": i, "score": round(s, 6)} for i, s in items]}
        if point is not None:
            platform = platform or point.payload.get("platform")
            country = country or point.payload.get("country")
        blocked = set(owned)
        chosen: list[str] = []
        segment = None
        for key in segment_keys(platform, country):
            candidates = [i for i in model.popular.get(key, []) if i not in blocked and i not in chosen]
            if candidates and segment is None:
                segment = key
            chosen += candidates[: k - len(chosen)]
            if len(chosen) >= k:
                break
        n = max(len(chosen), 1)
        return {**answer, "strategy": "popular", "segment": segment or "*|*",
                "items": [{"item_id": i, "score": round(1.0 - rank / n, 6)} for rank, i in enumerate(chosen)]}

    async def similar(self, game_id: str, player_id: str, k: int) -> tuple[bytes, Source]:
        model = await self.live_model(game_id)
        field = f"{model.model_id}|similar|k={k}"

        async def compute() -> bytes:
            point = await self.store.player(game_id, player_id)
            answer: dict[str, Any] = {"game_id": game_id, "player_id": player_id, "model_version": model.model_id}
            if point is None or point.vector is None:
                return orjson.dumps({**answer, "strategy": "popular", "players": []})
            found = await self.store.search_players(game_id, point.vector, k, player_id)
            await self.cache.note_named(game_id, player_id, [p for p, _ in found])  # an erase purges this answer
            return orjson.dumps({**answer, "strategy": "similar",
                                 "players": [{"player_id": p, "score": round(s, 6)} for p, s in found]})

        return await self.cache.get_or_compute(game_id, player_id, field, compute)
