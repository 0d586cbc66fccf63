"""Shared helpers of the recommender tests: a small trained game, tokens, an in-process API."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from gamemetrics.settings import Settings, TokenSettings
from gamemetrics.tokens import issue_token
from operations.history import history_columns, history_segments
from operations.simulate import Tastes, simulate_history
from recommender.app import Services, create_app
from recommender.cache import AnswerCache
from recommender.service import Recommender
from recommender.settings import RecommenderSettings
from recommender.training import TrainedModel, fit, publish
from recommender.vectors import VectorStore

TOKENS = TokenSettings(jwt_secret="test-secret-test-secret-test-secret-0123")
REC = RecommenderSettings(factors=16, model_refresh_s=0.2, cache_ttl_s=60)


def token(games: list[str], role: str = "analyst") -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(TOKENS, role, games, timedelta(hours=1))}"}


async def train_simulated(store: VectorStore, game_id: str, players: int = 300, seed: int = 0,
                          rec: RecommenderSettings = REC) -> TrainedModel:
    """Train and publish a model of ``game_id`` on a simulated history with latent tastes."""
    now = datetime.now(timezone.utc)
    history = simulate_history(players, Tastes(items=60, groups=4, favourites=8, seed=seed), days=30,
                               now_ms=int(now.timestamp() * 1000), seed=seed)
    trained = fit(history_columns(history), history_segments(history), rec, game_id, now, now - timedelta(days=30))
    await publish(store, trained, rec)
    return trained


class Api:
    """The recommender API in this process, on the caller's store and cache (httpx over ASGI)."""

    def __init__(self, settings: Settings, store: VectorStore, cache: AnswerCache, rec: RecommenderSettings = REC):
        self.recommender = Recommender(store, cache, rec)
        services = Services(settings, rec, TOKENS, store, cache, self.recommender)
        self.app = create_app(settings, rec, TOKENS, services)
        self.app.state.services = services
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://recommender")

    async def recommend(self, game_id: str, player_id: str, headers: dict[str, str] | None = None,
                        **params: Any) -> httpx.Response:
        return await self.client.get(f"/v1/recommendations/{player_id}", params={"game_id": game_id, **params},
                                     headers=headers if headers is not None else token([game_id]))

    async def similar(self, game_id: str, player_id: str, headers: dict[str, str] | None = None,
                      **params: Any) -> httpx.Response:
        return await self.client.get(f"/v1/players/{player_id}/similar", params={"game_id": game_id, **params},
                                     headers=headers if headers is not None else token([game_id]))

    async def close(self) -> None:
        await self.client.aclose()
