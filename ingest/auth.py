"""API key -> game id, read from the store and cached in the process for a short time."""

from __future__ import annotations

import asyncio
import time

import psycopg

from gamemetrics.settings import Settings
from store import db
from store.games import KEY_LOOKUP, hash_key

NEGATIVE_TTL_S = 5.0


class ApiKeyResolver:
    """Cached per process; an entry never outlives its key's expiry (rotated keys stop on time)."""

    def __init__(self, settings: Settings, ttl_s: float = 60.0) -> None:
        self._settings = settings
        self._ttl_s = ttl_s
        self._conn: psycopg.AsyncConnection | None = None
        self._lock = asyncio.Lock()
        self._cache: dict[str, tuple[str | None, float]] = {}

    async def game_for(self, api_key: str) -> str | None:
        key_hash = hash_key(api_key)
        cached = self._cache.get(key_hash)
        now = time.monotonic()
        if cached is not None and cached[1] > now:
            return cached[0]
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
        if row is None:
            self._cache[key_hash] = (None, now + NEGATIVE_TTL_S)
            return None
        game_id, expires_in_s = row[0], row[1]
        ttl = self._ttl_s if expires_in_s is None else min(self._ttl_s, float(expires_in_s))
        self._cache[key_hash] = (game_id, now + ttl)
        return game_id

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
