"""Per-game event budget: a token bucket in Redis shared by every ingest process, leased out to
the processes in chunks, and a per-process bucket that takes over while Redis is unreachable
(ingest keeps accepting).

Cost is the number of events in the request. The Redis bucket is one Lua script, atomic.

Leases. A request that its process's lease of the game cannot pay for takes a new lease with one
script call (one call in flight per game and process; concurrent requests wait for it): what it
lacks or ``L`` tokens if more (``L`` = ``LeasePolicy.events``), or as many as the bucket holds if
that is less but still covers it; the lease keeps what was left of the old one, pays the request
at once, and later requests of that game in that process are paid from the rest without asking
Redis, until it is spent or ``LeasePolicy.ttl_s`` has passed since it was taken (the rest is then
dropped, never returned). A lease holds at most L tokens after paying. A refused request does ask
Redis each time (as without leases): it is the bucket that knows when tokens are back, for its
Retry-After.
Every admitted event is paid by a token taken out of the shared bucket, so the error is bounded.
With N ingest processes, over any window:

- admitted ≤ what one exact bucket releases in the window + N × L (leases taken before the
  window and spent in it; the TTL keeps a lease from being spent long after it was taken);
- admitted ≥ that − N × L (leases held, unspent, at the end) − the unspent rest of each lease
  that expired in the window (< L each, at most one per process and game per TTL): a process that
  sees only a trickle of a game's requests drops up to L tokens per TTL.

L defaults to 5 % of a second of the game's rate (``GAMEMETRICS_INGEST_RATE_LIMIT_LEASE_S``
= 0.05, at most the burst): at 20,000 events/s that is 1,000 events, so a process asks Redis at
most once per 1,000 events, and two processes stray by at most 2,000 events (10 % of a second of
budget). L = 0 (lease_s = 0) asks Redis on every request: the exact shared bucket.
"""

from __future__ import annotations

import asyncio
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

# KEYS[1] bucket; ARGV: rate/s, burst, cost, now (s), lease (tokens wanted, >= cost).
# Returns {tokens granted (0 = refused), seconds until the bucket holds the cost}.
_LEASE = """
local rate, burst, cost, now, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens, ts = tonumber(state[1]), tonumber(state[2])
if tokens == nil then tokens = burst; ts = now end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local granted, wait = 0, 0
if tokens >= cost then
  granted = math.min(want, math.floor(tokens)); tokens = tokens - granted
else
  wait = (cost - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
return {granted, tostring(wait)}
"""


@dataclass(frozen=True)
class Budget:
    rate_per_s: float
    burst: int


@dataclass
class Decision:
    allowed: bool
    retry_after_s: int = 0
    source: Literal["redis", "lease", "local", "request"] = "redis"
    """What decided: the shared bucket in Redis (a new lease, or a refusal), this process's lease of
    it, this process's bucket while Redis is down, or the request itself (more events than a bucket
    holds: refused before either is asked)."""


@dataclass(frozen=True)
class LeasePolicy:
    """How much of the shared bucket a process takes at once: ``lease_s`` seconds of the rate (at
    most the burst; 0 = no lease, Redis decides every request) for at most ``ttl_s`` seconds."""

    lease_s: float = 0.05
    ttl_s: float = 1.0

    def events(self, budget: Budget) -> int:
        return min(budget.burst, math.ceil(budget.rate_per_s * self.lease_s))


NO_LEASE = LeasePolicy(lease_s=0.0)


@dataclass(slots=True)
class _Lease:
    tokens: int
    until: float
    """Monotonic time after which the rest is dropped."""


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
    """``take_now`` decides without I/O when it can (a lease, Redis known down, a request over the
    burst); ``take`` decides always, with one Redis call when ``take_now`` cannot."""

    def __init__(self, redis_url: str, budget: Budget, lease: LeasePolicy = LeasePolicy()) -> None:
        self._budget = budget
        self._lease_events = lease.events(budget)
        self._lease_ttl_s = lease.ttl_s
        self._redis = aioredis.Redis.from_url(
            redis_url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S
        )
        self._script = self._redis.register_script(_LEASE)
        self._local = LocalLimiter(budget)
        self._leases: dict[str, _Lease] = {}
        self._pending: dict[str, asyncio.Future[None]] = {}
        self._redis_down_until = 0.0

    def take_now(self, game_id: str, cost: int) -> Decision | None:
        """The decision if it needs no Redis call, else None (then ``await take``)."""
        if cost > self._budget.burst:
            return Decision(False, math.ceil(cost / self._budget.rate_per_s), source="request")
        lease = self._leases.get(game_id)
        if lease is not None and lease.tokens >= cost and lease.until > time.monotonic():
            lease.tokens -= cost
            return Decision(True, source="lease")
        now = time.time()
        if now < self._redis_down_until:
            return self._local.take(game_id, cost, now)
        return None

    async def take(self, game_id: str, cost: int) -> Decision:
        while (decided := self.take_now(game_id, cost)) is None:
            pending = self._pending.get(game_id)
            if pending is None:
                break
            await pending  # one lease call per game and process at a time: then try the lease it took
        else:
            return decided
        self._pending[game_id] = asyncio.get_running_loop().create_future()
        try:
            return await self._lease(game_id, cost)
        finally:
            self._pending.pop(game_id).set_result(None)

    async def _lease(self, game_id: str, cost: int) -> Decision:
        """A new lease paying for ``cost``; the rest of a live lease (too little for the cost) is kept in it."""
        now = time.time()
        lease = self._leases.get(game_id)
        held = lease.tokens if lease is not None and lease.until > time.monotonic() else 0
        need = cost - held
        try:
            granted, wait = await self._script(
                keys=[f"gm:ratelimit:{game_id}"],
                args=[self._budget.rate_per_s, self._budget.burst, need, now, max(need, self._lease_events)],
            )
        except (RedisError, OSError) as exc:
            self._redis_down_until = now + REDIS_RETRY_AFTER_FAILURE_S
            log.warning("redis_unavailable_local_rate_limit", error=str(exc), retry_in_s=REDIS_RETRY_AFTER_FAILURE_S)
            return self._local.take(game_id, cost, now)
        granted = int(granted)
        if not granted:
            return Decision(False, max(1, math.ceil(float(wait))))
        self._leases[game_id] = _Lease(held + granted - cost, time.monotonic() + self._lease_ttl_s)
        return Decision(True)

    async def close(self) -> None:
        await self._redis.aclose()


class FailureBudget:
    """How many refused API keys (401s) one client address may cause: a token bucket per address,
    per process (not shared through Redis: the point is to keep a key flood off PostgreSQL and out
    of memory cheaply, without a Redis round trip on the failure path; N ingest processes allow N
    times the budget). At most ``max_addresses`` buckets are kept (least recently used go first).
    """

    def __init__(self, budget: Budget, max_addresses: int) -> None:
        from cachetools import LRUCache

        self._budget = budget
        self._buckets: LRUCache[str, _LocalBucket] = LRUCache(maxsize=max_addresses)

    def _refilled(self, address: str, now: float) -> _LocalBucket:
        bucket = self._buckets.get(address) or _LocalBucket(float(self._budget.burst), now)
        bucket.tokens = min(self._budget.burst, bucket.tokens + max(0.0, now - bucket.at) * self._budget.rate_per_s)
        bucket.at = now
        self._buckets[address] = bucket
        return bucket

    def check(self, address: str, now: float | None = None) -> Decision:
        """Allowed while the address has failures left; else the seconds until it has one."""
        bucket = self._refilled(address, time.monotonic() if now is None else now)
        if bucket.tokens >= 1:
            return Decision(True, source="local")
        return Decision(False, max(1, math.ceil((1 - bucket.tokens) / self._budget.rate_per_s)), source="local")

    def spend(self, address: str, now: float | None = None) -> None:
        bucket = self._refilled(address, time.monotonic() if now is None else now)
        bucket.tokens = max(0.0, bucket.tokens - 1)
