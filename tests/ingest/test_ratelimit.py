"""The rate limiter's contract, run against the per-process bucket and the real Redis bucket."""

import asyncio
import uuid

import pytest
import redis.asyncio as aioredis

from ingest.ratelimit import Budget, LocalLimiter, RateLimiter

BUDGET = Budget(rate_per_s=10.0, burst=50)
SEQUENCE = [20, 20, 10, 1, 50]  # 50 tokens: the 4th and 5th requests are refused
EXPECTED = [True, True, True, False, False]


def test_local_bucket_contract():
    limiter = LocalLimiter(BUDGET)
    decisions = [limiter.take("g", cost, now=1000.0) for cost in SEQUENCE]
    assert [d.allowed for d in decisions] == EXPECTED
    assert all(d.retry_after_s >= 1 for d in decisions if not d.allowed)
    assert limiter.take("g", 10, now=1001.0).allowed  # refilled 10 tokens in one second
    assert limiter.take("other", 50, now=1000.0).allowed  # games do not share a bucket


@pytest.mark.integration
def test_redis_bucket_contract(stack_settings):
    async def run():
        limiter = RateLimiter(stack_settings.redis_url, BUDGET)
        game = f"test-{uuid.uuid4()}"
        decisions = [await limiter.take(game, cost) for cost in SEQUENCE]
        other = await limiter.take(f"test-{uuid.uuid4()}", 50)
        await limiter.close()
        return decisions, other

    decisions, other = asyncio.run(run())
    assert [d.allowed for d in decisions] == EXPECTED
    assert all(d.source == "redis" for d in decisions)
    assert all(d.retry_after_s >= 1 for d in decisions if not d.allowed)
    assert other.allowed


def test_a_request_larger_than_the_bucket_is_refused_not_queued():
    async def run():
        limiter = RateLimiter("redis://127.0.0.1:1/0", BUDGET)
        decision = await limiter.take("g", 51)
        await limiter.close()
        return decision

    assert not asyncio.run(run()).allowed


@pytest.mark.integration
def test_a_request_larger_than_the_bucket_is_refused_by_the_redis_limiter_and_leaves_the_bucket_full(stack_settings):
    async def run():
        limiter = RateLimiter(stack_settings.redis_url, BUDGET)
        client = aioredis.Redis.from_url(stack_settings.redis_url)
        game = f"test-{uuid.uuid4()}"
        try:
            too_large = await limiter.take(game, BUDGET.burst + 1)
            untouched = await client.exists(f"gm:ratelimit:{game}")
            whole_bucket = await limiter.take(game, BUDGET.burst)
            return too_large, untouched, whole_bucket
        finally:
            await client.aclose()
            await limiter.close()

    too_large, untouched, whole_bucket = asyncio.run(run())
    assert not too_large.allowed and too_large.retry_after_s >= 1 and too_large.source == "request"
    assert untouched == 0  # refused before it could take tokens from the shared bucket
    assert whole_bucket.allowed and whole_bucket.source == "redis"  # the full burst is still there, in Redis
