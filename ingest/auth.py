"""API key -> game id, read from the store and cached in the process for a short time.

PostgreSQL down: a key cached earlier keeps being accepted until its own expiry (the cache is
served stale rather than refusing paying traffic), and a key not in the cache is refused with
``StoreUnavailable`` (503 + Retry-After): we cannot check it, so we accept nothing for it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import structlog

from gamemetrics.settings import Settings
from ingest.errors import KeyStoreUnavailable
from store.connections import AsyncConnectionHolder
from store.errors import StoreUnavailable
from store.games import KEY_LOOKUP, hash_key

log = structlog.get_logger("ingest.auth")

NEGATIVE_TTL_S = 5.0
UNAVAILABLE_RETRY_AFTER_S = 2


@dataclass(frozen=True, slots=True)
class _Entry:
    game_id: str | None
    fresh_until: float
    """Monotonic time after which the key is looked up again."""
    valid_until: float
    """Monotonic time after which the key must not be accepted without a lookup (its expiry)."""


class ApiKeyResolver:
    """Cached per process; an entry never outlives its key's expiry (rotated keys stop on time)."""

    def __init__(self, settings: Settings, ttl_s: float = 60.0, retry_after_s: int = UNAVAILABLE_RETRY_AFTER_S) -> None:
        self._ttl_s = ttl_s
        self._retry_after_s = retry_after_s
        self._db = AsyncConnectionHolder(settings, autocommit=True)
        self._lock = asyncio.Lock()
        self._cache: dict[str, _Entry] = {}

    async def game_for(self, api_key: str) -> str | None:
        """The key's game, None for an unknown or expired key; KeyStoreUnavailable (503) if it cannot be checked."""
        key_hash = hash_key(api_key)
        cached = self._cache.get(key_hash)
        now = time.monotonic()
        if cached is not None and cached.fresh_until > now:
            return cached.game_id
        try:
            async with self._lock, self._db.session("API key lookup") as conn:
                cursor = await conn.execute(KEY_LOOKUP, (key_hash,))
                row = await cursor.fetchone()
        except StoreUnavailable as exc:
            if cached is not None and cached.game_id is not None and cached.valid_until > now:
                log.warning("api_key_served_from_cache", game_id=cached.game_id, error=str(exc))
                return cached.game_id
            raise KeyStoreUnavailable(
                f"cannot check the API key: the key store is unavailable ({exc}); retry later", self._retry_after_s
            ) from exc
        if row is None:
            self._cache[key_hash] = _Entry(None, now + NEGATIVE_TTL_S, now + NEGATIVE_TTL_S)
            return None
        game_id, expires_in_s = row[0], row[1]
        valid = float("inf") if expires_in_s is None else now + float(expires_in_s)
        self._cache[key_hash] = _Entry(game_id, min(now + self._ttl_s, valid), valid)
        return game_id

    async def close(self) -> None:
        await self._db.close()
