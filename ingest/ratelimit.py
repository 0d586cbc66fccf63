"""Per-game event budget: a token bucket in Redis shared by every ingest process, and a
per-process bucket that takes over while Redis is unreachable (ingest keeps accepting).

Cost is the number of events in the request. The Redis bucket is one Lua script, atomic.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Literal

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

log = structlog.get_logger("ingest.ratelimit")

REDIS_RETRY_AFTER_FAILURE_S = 5.0
REDIS_TIMEOUT_S = 0.25

# KEYS[1] bucket; ARGV: rate/s, burst, cost, now (s). Returns {allowed, seconds until enough tokens}.
_BUCKET = """
local rate, burst, cost, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens, ts = tonumber(state[1]), tonumber(state[2])
if tokens == nil then tokens = burst; ts = now end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local allowed, wait = 0, 0
if tokens >= cost then
  tokens = tokens - cost; allowed = 1
else
  wait = (cost - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
return {allowed, tostring(wait)}
"""


@dataclass(frozen=True)
class Budget:
    rate_per_s: float
    burst: int


@dataclass
class Decision:
    allowed: bool
    retry_after_s: int = 0
    source: Literal["redis", "local", "request"] = "redis"
    """What decided: the shared bucket in Redis, this process's bucket while Redis is down, or the
    request itself (more events than a bucket holds: refused before either is asked)."""


@dataclass
class _LocalBucket:
    tokens: float
    at: float


@dataclass
class LocalLimiter:
    budget: Budget
    buckets: dict[str, _LocalBucket] = field(default_factory=dict)

    def take(self, game_id: str, cost: int, now: float) -> Decision:
        bucket = self.buckets.get(game_id) or _LocalBucket(float(self.budget.burst), now)
        bucket.tokens = min(self.budget.burst, bucket.tokens + max(0.0, now - bucket.at) * self.budget.rate_per_s)
        bucket.at = now
        self.buckets[game_id] = bucket
        if bucket.tokens >= cost:
            bucket.tokens -= cost
            return Decision(True, source="local")
        wait = (cost - bucket.tokens) / self.budget.rate_per_s
        return Decision(False, max(1, math.ceil(wait)), source="local")


class RateLimiter:
    def __init__(self, redis_url: str, budget: Budget) -> None:
        self._budget = budget
        self._redis = aioredis.Redis.from_url(
            redis_url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S
        )
        self._script = self._redis.register_script(_BUCKET)
        self._local = LocalLimiter(budget)
        self._redis_down_until = 0.0

    async def take(self, game_id: str, cost: int) -> Decision:
        if cost > self._budget.burst:
            return Decision(False, math.ceil(cost / self._budget.rate_per_s), source="request")
        now = time.time()
        if now >= self._redis_down_until:
            try:
                allowed, wait = await self._script(
                    keys=[f"gm:ratelimit:{game_id}"], args=[self._budget.rate_per_s, self._budget.burst, cost, now]
                )
                return Decision(bool(allowed), max(1, math.ceil(float(wait))) if not allowed else 0)
            except (RedisError, OSError) as exc:
                self._redis_down_until = now + REDIS_RETRY_AFTER_FAILURE_S
                log.warning("redis_unavailable_local_rate_limit", error=str(exc), retry_in_s=REDIS_RETRY_AFTER_FAILURE_S)
        return self._local.take(game_id, cost, now)

    async def close(self) -> None:
        await self._redis.aclose()
