"""Cache-aside in Redis for the recommender API, with stampede protection and a bypass when Redis is down.

One Redis hash per player holds all their cached answers, one field per (model version, query):

    key    gm:{namespace}:rec:{game_id}:{player_id}     (EXPIRE ttl, set when the hash is created)
    field  {model_version}|{query}                       (e.g. m20261201t0930...|rec|k=10|x=1|p=ios|c=US)

and, per player, the set of other players' hashes whose similar-player answers name them:

    key    gm:{namespace}:rec:{game_id}:{player_id}:named-in   (SADD when such an answer is computed)

so an erase removes the player's keys by name and purges the answers naming them without a SCAN
(``player_keys``, ``named_in_key``: retention/gdpr/forgetters.py ``forget_redis``).

Invalidating a player after new play (the worker) or forgetting them is one DEL, and a model
swap needs no invalidation at all (the new version's fields are new). Stampede protection: within
a process, concurrent misses of one field share one computation (a future per field); across
processes (not on the embedded store, whose service is the only one) the first takes the field's lock (``HSETNX {key}:locks field``, expiring after
``cache_lock_ms``) and the others poll the hash for up to
``cache_wait_ms`` before computing themselves. Redis errors never reach the caller: the request is
answered from Qdrant and the cache is bypassed for ``redis_retry_s`` (so a dead Redis costs one
timeout per retry period, not one per request).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Literal

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from gamemetrics import metric_defs as m
from recommender.settings import RecommenderSettings

log = structlog.get_logger("recommender.cache")

Source = Literal["hit", "miss", "coalesced", "bypass"]
POLL_S = 0.005


def player_key(namespace: str, game_id: str, player_id: str) -> str:
    """The hash of one player's cached answers."""
    return f"gm:{namespace}:rec:{game_id}:{player_id}"


def named_in_key(namespace: str, game_id: str, player_id: str) -> str:
    """The set of answer hashes (other players') whose similar-player answers name this player."""
    return f"{player_key(namespace, game_id, player_id)}:named-in"


def player_keys(namespace: str, game_id: str, player_id: str) -> list[str]:
    """Every Redis key that belongs to one player of one game: answers, recompute locks, the named-in set."""
    key = player_key(namespace, game_id, player_id)
    return [key, f"{key}:locks", named_in_key(namespace, game_id, player_id)]


class AnswerCache:
    def __init__(self, client: aioredis.Redis | None, namespace: str, rec: RecommenderSettings,
                 one_process: bool = False) -> None:
        """``one_process``: this process is the only one that computes answers (the owner of the embedded
        store), so the cross-process lock (one Redis round trip per miss) is skipped."""
        self._redis = client
        self._one_process = one_process
        self._namespace = namespace
        self._ttl_s = rec.cache_ttl_s
        self._lock_ms = rec.cache_lock_ms
        self._wait_s = rec.cache_wait_ms / 1000
        self._retry_s = rec.redis_retry_s
        self._down_until = 0.0
        self._inflight: dict[tuple[str, str], asyncio.Future[tuple[bytes, Source]]] = {}

    @classmethod
    def connect(cls, redis_url: str, namespace: str, rec: RecommenderSettings, one_process: bool = False) -> AnswerCache:
        client = aioredis.Redis.from_url(redis_url, socket_timeout=rec.redis_timeout_s,
                                         socket_connect_timeout=rec.redis_timeout_s, retry_on_timeout=False)
        return cls(client, namespace, rec, one_process)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()

    def key(self, game_id: str, player_id: str) -> str:
        return player_key(self._namespace, game_id, player_id)

    async def note_named(self, game_id: str, asker: str, named: list[str]) -> None:
        """Remember that ``asker``'s similar-player answer names ``named`` (so an erase of one of them purges it)."""
        if not named or not self.available:
            return
        key = self.key(game_id, asker)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:  # type: ignore[union-attr]
                for player_id in named:
                    index = named_in_key(self._namespace, game_id, player_id)
                    pipe.sadd(index, key)
                    pipe.expire(index, self._ttl_s)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            self._failed("note_named", exc)

    def _locks_key(self, key: str) -> str:
        return f"{key}:locks"

    @property
    def available(self) -> bool:
        return self._redis is not None and time.monotonic() >= self._down_until

    def _failed(self, what: str, exc: Exception) -> None:
        m.RECOMMENDER_REDIS_ERRORS.inc()
        if time.monotonic() >= self._down_until:
            log.warning("redis_unavailable", action=what, error=str(exc), bypass_s=self._retry_s)
        self._down_until = time.monotonic() + self._retry_s

    async def _get(self, key: str, field: str) -> bytes | None:
        if not self.available:
            return None
        try:
            return await self._redis.hget(key, field)  # type: ignore[union-attr]
        except (RedisError, OSError) as exc:
            self._failed("get", exc)
            return None

    async def _put(self, key: str, field: str, value: bytes) -> None:
        if not self.available:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:  # type: ignore[union-attr]
                pipe.hset(key, field, value)
                pipe.expire(key, self._ttl_s, nx=True)
                pipe.hdel(self._locks_key(key), field)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            self._failed("put", exc)

    async def _lock(self, key: str, field: str) -> bool:
        """True when this process should compute (it got the lock, or Redis cannot say)."""
        if not self.available:
            return True
        try:
            async with self._redis.pipeline(transaction=True) as pipe:  # type: ignore[union-attr]
                pipe.hsetnx(self._locks_key(key), field, b"1")
                pipe.pexpire(self._locks_key(key), self._lock_ms)
                won, _ = await pipe.execute()
            return bool(won)
        except (RedisError, OSError) as exc:
            self._failed("lock", exc)
            return True

    async def peek(self, game_id: str, player_id: str, field: str) -> bytes | None:
        """The cached answer if there is one (None when Redis is down too); nothing is counted or computed."""
        return await self._get(self.key(game_id, player_id), field)

    async def get_or_compute(self, game_id: str, player_id: str, field: str,
                             compute: Callable[[], Awaitable[bytes]]) -> tuple[bytes, Source]:
        """The cached answer, or ``compute()``'s, stored; and where it came from. Concurrent callers of
        one field in this process share one lookup and one computation, whether Redis is up or not."""
        key = self.key(game_id, player_id)
        inflight = self._inflight.get((key, field))
        if inflight is not None:  # another request of this process is on it
            value, source = await asyncio.shield(inflight)
            shared: Source = "hit" if source == "hit" else "coalesced"
            m.RECOMMENDER_CACHE.labels(shared).inc()
            return value, shared
        future: asyncio.Future[tuple[bytes, Source]] = asyncio.get_running_loop().create_future()
        self._inflight[(key, field)] = future
        try:
            result = await self._lookup(key, field, compute)
            future.set_result(result)
            m.RECOMMENDER_CACHE.labels(result[1]).inc()
            return result
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waited
            raise
        finally:
            del self._inflight[(key, field)]

    async def _lookup(self, key: str, field: str, compute: Callable[[], Awaitable[bytes]]) -> tuple[bytes, Source]:
        if not self.available:
            return await compute(), "bypass"
        cached = await self._get(key, field)
        if cached is not None:
            return cached, "hit"
        if not self.available:  # the get just failed
            return await compute(), "bypass"
        return await self._compute_once(key, field, compute)

    async def _compute_once(self, key: str, field: str,
                            compute: Callable[[], Awaitable[bytes]]) -> tuple[bytes, Source]:
        if not self._one_process and not await self._lock(key, field):  # another process computes: wait for it
            deadline = time.monotonic() + self._wait_s
            while time.monotonic() < deadline and self.available:
                await asyncio.sleep(POLL_S)
                cached = await self._get(key, field)
                if cached is not None:
                    return cached, "coalesced"
        value = await compute()
        await self._put(key, field, value)
        return value, "miss" if self.available else "bypass"

    async def invalidate(self, game_id: str, player_id: str) -> int:
        """Drop every cached answer of the player (all model versions and queries); keys removed."""
        if self._redis is None:
            return 0
        try:
            return int(await self._redis.delete(self.key(game_id, player_id)))
        except (RedisError, OSError) as exc:
            self._failed("invalidate", exc)
            return 0

    async def invalidate_many(self, game_id: str, player_ids: list[str]) -> int:
        """``invalidate`` for several players in one DEL."""
        if self._redis is None or not player_ids:
            return 0
        try:
            return int(await self._redis.delete(*(self.key(game_id, p) for p in player_ids)))
        except (RedisError, OSError) as exc:
            self._failed("invalidate", exc)
            return 0

    async def forget(self, game_id: str, player_id: str) -> int:
        """Like ``invalidate``, but a Redis error is raised: an erase must not report success it did not have."""
        if self._redis is None:
            return 0
        return int(await self._redis.delete(*player_keys(self._namespace, game_id, player_id)))
