"""Forget a player in every store the recommender keeps, and say how much was removed.

    qdrant_points   the player's point in every model version of the game (its vector, and its
                    interaction history, owned items and segment, which live in the point's payload)
    redis_keys      the player's cached answers and recompute locks
    interaction_rows  0: the recommender keeps no rows of its own; it trains from player_events, which
                    the store's erase removes (retention/), and folds new play into the points above

Models trained before the erase keep no trace of the player beyond the item vectors, which are
aggregates over all players; the next training no longer sees them.

    forget_player(settings, game_id, player_id, rec, tokens) -> dict[str, int]   (opens its own clients)
    forget_with(store, cache, game_id, player_id) -> dict[str, int]              (the caller's clients)

The embedded store is held by the running recommender service: ``forget_player`` and
``export_player`` then go through its admin API (``recommender.port.open_store``: the service runs
``forget_with`` on its own store and audits it); with a Qdrant server, or when no service runs,
they open the store themselves.
"""

from __future__ import annotations

import asyncio

import structlog

from gamemetrics.settings import Settings, TokenSettings
from recommender.cache import AnswerCache
from recommender.port import ServiceStore, open_store
from recommender.settings import RecommenderSettings
from recommender.vectors import VectorStore

log = structlog.get_logger("recommender.forget")


async def forget_with(store: VectorStore, cache: AnswerCache, game_id: str, player_id: str) -> dict[str, int]:
    points = await store.delete_player(game_id, player_id)
    keys = await cache.forget(game_id, player_id)
    counts = {"qdrant_points": points, "redis_keys": keys, "interaction_rows": 0}
    log.info("player_forgotten", game_id=game_id, **counts)  # never the raw player id
    return counts


def forget_player(settings: Settings, game_id: str, player_id: str, rec: RecommenderSettings,
                  tokens: TokenSettings) -> dict[str, int]:
    """Remove ``player_id`` of ``game_id`` from Qdrant (every model version) and Redis; the counts.

    Raises ``recommender.errors.VectorStoreError`` (the store or its owning service refused or could not
    be reached) or a Redis error rather than report an erase that did not happen."""

    async def run() -> dict[str, int]:
        store = open_store(settings, rec, tokens, subject="gdpr-erase")
        try:
            if isinstance(store, ServiceStore):
                return await store.forget(game_id, player_id)
            cache = AnswerCache.connect(settings.redis_url, store.names.namespace, rec)
            try:
                return await forget_with(store, cache, game_id, player_id)
            finally:
                await cache.close()
        finally:
            await store.close()

    return asyncio.run(run())


def export_player(settings: Settings, game_id: str, player_id: str, rec: RecommenderSettings,
                  tokens: TokenSettings) -> list[dict]:
    """What the recommender holds on the player (interaction history, owned items, segment per model
    version), for a GDPR export; the mirror of ``forget_player``."""

    async def run() -> list[dict]:
        store = open_store(settings, rec, tokens, subject="gdpr-export")
        try:
            return await store.player_payloads(game_id, player_id)
        finally:
            await store.close()

    return asyncio.run(run())
