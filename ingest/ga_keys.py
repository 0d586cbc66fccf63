"""GameAnalytics game key -> (game id, secret key), read from the store and cached in the process.

The secret is stored sealed (store/secret_box.py) and opened once per lookup; it stays in this
process's memory for ``ttl_s`` (a re-issued pair is picked up within that time). Unknown game keys
are remembered for a few seconds in a bounded cache, like unknown API keys (ingest.auth).
PostgreSQL down: a cached key keeps working; an uncached one gets KeyStoreUnavailable (503).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from cachetools import TTLCache

from gamemetrics.settings import Settings
from ingest.errors import KeyStoreUnavailable
from store.connections import AsyncConnectionHolder
from store.errors import StoreUnavailable
from store.gameanalytics import GAME_KEY_LOOKUP
from store.secret_box import SecretBox

NEGATIVE_TTL_S = 5.0


@dataclass(frozen=True, slots=True)
class GameKey:
    game_id: str
    secret_key: str


class GameKeyResolver:
    def __init__(self, settings: Settings, ttl_s: float = 60.0, retry_after_s: int = 2, negative_max: int = 10_000) -> None:
        self._box = SecretBox.of(settings)
        self._db = AsyncConnectionHolder(settings, autocommit=True)
        self._lock = asyncio.Lock()
        self._ttl_s = ttl_s
        self._retry_after_s = retry_after_s
        self._known: dict[str, tuple[GameKey, float]] = {}
        self._unknown: TTLCache[str, bool] = TTLCache(maxsize=negative_max, ttl=NEGATIVE_TTL_S)

    async def lookup(self, game_key: str) -> GameKey | None:
        """The game and secret of a GameAnalytics game key; None when no game has it."""
        known = self._known.get(game_key)
        if known is not None and known[1] > time.monotonic():
            return known[0]
        if game_key in self._unknown:
            return None
        try:
            async with self._lock, self._db.session("GameAnalytics game key lookup") as conn:
                cursor = await conn.execute(GAME_KEY_LOOKUP, (game_key,))
                row = await cursor.fetchone()
        except StoreUnavailable as exc:
            if known is not None:
                return known[0]
            raise KeyStoreUnavailable(f"cannot check the game key: the key store is unavailable ({exc})",
                                      self._retry_after_s) from exc
        if row is None:
            self._known.pop(game_key, None)
            self._unknown[game_key] = True
            return None
        entry = GameKey(row[0], self._box.open(row[1]))
        self._known[game_key] = (entry, time.monotonic() + self._ttl_s)
        return entry

    async def close(self) -> None:
        await self._db.close()
