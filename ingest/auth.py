"""API key -> game id, read from the store and cached in the process for a short time.

Both caches are bounded: known keys (few: one or two per game) for ``ttl_s``, never past their
expiry; unknown keys in an LRU/TTL cache of at most ``negative_max`` entries for ``negative_ttl_s``,
so a flood of random keys costs a bounded amount of memory (and ``ingest.ratelimit.FailureBudget``
bounds how many of them one address may try).
"""

from __future__ import annotations

import asyncio
import time

import psycopg
from cachetools import TTLCache

from gamemetrics.settings import Settings
from store import db
from store.games import KEY_LOOKUP, hash_key

NEGATIVE_TTL_S = 5.0
NEGATIVE_MAX = 10_000


class ApiKeyResolver:
    """Cached per process; an entry never outlives its key's expiry (rotated keys stop on time)."""

    def __init__(self, settings: Settings, ttl_s: float = 60.0, negative_max: int = NEGATIVE_MAX,
                 negative_ttl_s: float = NEGATIVE_TTL_S) -> None:
        self._settings = settings
        self._ttl_s = ttl_s
        self._conn: psycopg.AsyncConnection | None = None
        self._lock = asyncio.Lock()
        self._known: dict[str, tuple[str, float]] = {}  # bounded by the keys that exist
        self._unknown: TTLCache[str, bool] = TTLCache(maxsize=negative_max, ttl=negative_ttl_s)

    @property
    def unknown_cached(self) -> int:
        """How many unknown keys are remembered now (at most ``negative_max``)."""
        return len(self._unknown)

    def cached(self, api_key: str) -> tuple[bool, str | None]:
        """(True, game id or None for a known-unknown key) when cached; (False, None) when a lookup is needed."""
        key_hash = hash_key(api_key)
        known = self._known.get(key_hash)
        if known is not None and known[1] > time.monotonic():
            return True, known[0]
        if key_hash in self._unknown:
            return True, None
        return False, None

    async def game_for(self, api_key: str) -> str | None:
        hit, game_id = self.cached(api_key)
        if hit:
            return game_id
        key_hash = hash_key(api_key)
        async with self._lock:
            if self._conn is None or self._conn.closed:
                self._conn = await db.connect_async(self._settings, autocommit=True)
            try:
                cursor = await self._conn.execute(KEY_LOOKUP, (key_hash,))
                row = await cursor.fetchone()
            except psycopg.OperationalError:
                await self._conn.close()
                self._conn = None
                raise
        now = time.monotonic()
        if row is None:
            self._known.pop(key_hash, None)
            self._unknown[key_hash] = True
            return None
        game_id, expires_in_s = row[0], row[1]
        ttl = self._ttl_s if expires_in_s is None else min(self._ttl_s, float(expires_in_s))
        self._known[key_hash] = (game_id, now + ttl)
        return game_id

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
