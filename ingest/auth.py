"""API key -> game id, read from the store and cached in the process for a short time.

PostgreSQL down: a key cached earlier keeps being accepted until its own expiry (the cache is
served stale rather than refusing paying traffic), and a key not in the cache is refused with
``StoreUnavailable`` (503 + Retry-After): we cannot check it, so we accept nothing for it.

Both caches are bounded: known keys (few: one or two per game, bounded by the keys that exist)
never past their expiry; unknown keys in an LRU/TTL cache of at most ``negative_max`` entries for
``negative_ttl_s``, so a flood of random keys costs a bounded amount of memory (and
``ingest.ratelimit.FailureBudget`` bounds how many of them one address may try).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import structlog
from cachetools import TTLCache

from gamemetrics.redact import redact
from gamemetrics.settings import Settings
from ingest.errors import KeyStoreUnavailable
from store.connections import AsyncConnectionHolder
from store.errors import StoreUnavailable
from store.games import KEY_LOOKUP, hash_key

log = structlog.get_logger("ingest.auth")

NEGATIVE_TTL_S = 5.0
NEGATIVE_MAX = 10_000
UNAVAILABLE_RETRY_AFTER_S = 2


@dataclass(frozen=True, slots=True)
class _Entry:
    game_id: str
    fresh_until: float
    """Monotonic time after which the key is looked up again."""
    valid_until: float
    """Monotonic time after which the key must not be accepted without a lookup (its expiry)."""


class ApiKeyResolver:
    """Cached per process; an entry never outlives its key's expiry (rotated keys stop on time)."""

    def __init__(self, settings: Settings, ttl_s: float = 60.0, retry_after_s: int = UNAVAILABLE_RETRY_AFTER_S,
                 negative_max: int = NEGATIVE_MAX, negative_ttl_s: float = NEGATIVE_TTL_S) -> None:
        self._ttl_s = ttl_s
        self._retry_after_s = retry_after_s
        self._db = AsyncConnectionHolder(settings, autocommit=True)
        self._lock = asyncio.Lock()
        self._known: dict[str, _Entry] = {}
        self._unknown: TTLCache[str, bool] = TTLCache(maxsize=negative_max, ttl=negative_ttl_s)

    @property
    def unknown_cached(self) -> int:
        """How many unknown keys are remembered now (at most ``negative_max``)."""
        return len(self._unknown)

    def cached(self, api_key: str) -> tuple[bool, str | None]:
        """(True, game id or None for a known-unknown key) when fresh in a cache; (False, None) when a lookup is needed."""
        key_hash = hash_key(api_key)
        known = self._known.get(key_hash)
        if known is not None and known.fresh_until > time.monotonic():
            return True, known.game_id
        if key_hash in self._unknown:
            return True, None
        return False, None

    async def game_for(self, api_key: str) -> str | None:
        """The key's game, None for an unknown or expired key; KeyStoreUnavailable (503) if it cannot be checked."""
        hit, game_id = self.cached(api_key)
        if hit:
            return game_id
        key_hash = hash_key(api_key)
        cached = self._known.get(key_hash)
        try:
            async with self._lock, self._db.session("API key lookup") as conn:
                cursor = await conn.execute(KEY_LOOKUP, (key_hash,))
                row = await cursor.fetchone()
        except StoreUnavailable as exc:
            if cached is not None and cached.valid_until > time.monotonic():
                log.warning("api_key_served_from_cache", game_id=cached.game_id, error=redact(str(exc)))
                return cached.game_id
            # the caller is not authenticated: it learns that the store is down, not where it is or why
            log.warning("api_key_store_unavailable", error=redact(str(exc)))
            raise KeyStoreUnavailable(
                "cannot check the API key: the key store is unavailable; retry later", self._retry_after_s
            ) from exc
        now = time.monotonic()
        if row is None:
            self._known.pop(key_hash, None)
            self._unknown[key_hash] = True
            return None
        game_id, expires_in_s = row[0], row[1]
        valid = float("inf") if expires_in_s is None else now + float(expires_in_s)
        self._known[key_hash] = _Entry(game_id, min(now + self._ttl_s, valid), valid)
        return game_id

    async def close(self) -> None:
        await self._db.close()
