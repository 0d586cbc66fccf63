"""API key -> game id, read from the store and cached in the process for a short time."""

from __future__ import annotations

import asyncio
import time

import psycopg

from gamemetrics.settings import Settings
from gamemetrics.store import db
from gamemetrics.store.games import hash_key

POSITIVE_TTL_S = 60.0
NEGATIVE_TTL_S = 5.0


class ApiKeyResolver:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
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
                cursor = await self._conn.execute(
                    "SELECT game_id FROM api_keys WHERE key_hash = %s AND (expires_at IS NULL OR expires_at > now())",
                    (key_hash,),
                )
                row = await cursor.fetchone()
            except psycopg.OperationalError:
                await self._conn.close()
                self._conn = None
                raise
        game_id = row[0] if row else None
        self._cache[key_hash] = (game_id, now + (POSITIVE_TTL_S if game_id else NEGATIVE_TTL_S))
        return game_id

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
