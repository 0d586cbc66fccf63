"""The rate limiter's contract, run against the per-process bucket and the real Redis bucket, and the
leases of the shared bucket that several ingest processes take (error bound, Retry-After, TTL)."""

import asyncio
import time
import uuid

import pytest
import redis.asyncio as aioredis

from ingest.ratelimit import Budget, LeasePolicy, LocalLimiter, RateLimiter

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


def test_the_failure_budget_refuses_an_address_after_its_burst_and_refills():
    from ingest.ratelimit import FailureBudget

    budget = FailureBudget(Budget(rate_per_s=0.5, burst=3), max_addresses=2)
    for _ in range(3):
        assert budget.check("10.0.0.1", now=100.0).allowed
        budget.spend("10.0.0.1", now=100.0)
    refused = budget.check("10.0.0.1", now=100.0)
    assert not refused.allowed and refused.retry_after_s == 2
    assert budget.check("10.0.0.2", now=100.0).allowed  # another address has its own budget
    assert budget.check("10.0.0.1", now=102.0).allowed  # one failure refilled after 2 s

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


# ---------------------------------------------------------------- leases of the shared bucket (real Redis)
LEASED = Budget(rate_per_s=200.0, burst=400)
LEASE = LeasePolicy(lease_s=0.1, ttl_s=1.0)  # 20 events per lease


@pytest.mark.integration
def test_two_processes_leasing_one_budget_admit_within_the_stated_bound(stack_settings):
    """Two limiters (two ingest processes) hammer one game for 1.5 s, past its budget: what they admit
    together stays within N x L = 40 events of what one exact bucket releases."""
    lease_events = LEASE.events(LEASED)

    async def run():
        limiters = [RateLimiter(stack_settings.redis_url, LEASED, LEASE) for _ in range(2)]
        game = f"test-{uuid.uuid4()}"
        admitted = requests = leases = admitted_requests = 0
        started = time.time()
        deadline = started + 1.5
        try:
            while time.time() < deadline:
                for i, limiter in enumerate(limiters):
                    cost = 1 + (requests + i) % 3
                    decision = await limiter.take(game, cost)
                    requests += 1
                    if decision.allowed:
                        admitted += cost
                        admitted_requests += 1
                        leases += decision.source == "redis"
                await asyncio.sleep(0.001)
            elapsed = time.time() - started
        finally:
            for limiter in limiters:
                await limiter.close()
        return admitted, admitted_requests, leases, elapsed

    admitted, admitted_requests, leases, elapsed = asyncio.run(run())
    exact = LEASED.burst + LEASED.rate_per_s * elapsed  # what one exact bucket releases to a client asking this often
    bound = 2 * lease_events
    assert exact - bound - 3 <= admitted <= exact + bound, (admitted, exact)
    assert leases <= admitted_requests


@pytest.mark.integration
def test_under_its_budget_a_game_costs_one_redis_call_per_lease_not_per_request(stack_settings):
    async def run():
        budget = Budget(rate_per_s=1000.0, burst=10_000)  # lease: 100 events
        limiters = [RateLimiter(stack_settings.redis_url, budget, LeasePolicy(lease_s=0.1, ttl_s=5.0)) for _ in range(2)]
        game = f"test-{uuid.uuid4()}"
        try:
            decisions = [await limiters[i % 2].take(game, 1 + i % 3) for i in range(300)]  # 600 events
        finally:
            for limiter in limiters:
                await limiter.close()
        return decisions

    decisions = asyncio.run(run())
    assert all(d.allowed for d in decisions)
    assert [d.source for d in decisions].count("redis") <= 2 * (600 // 100 + 1)


@pytest.mark.integration
def test_a_refused_request_gets_a_retry_after_it_can_really_be_sent_after(stack_settings):
    async def run():
        budget = Budget(rate_per_s=10.0, burst=40)
        a, b = (RateLimiter(stack_settings.redis_url, budget, LeasePolicy(lease_s=1.0, ttl_s=1.0)) for _ in range(2))
        game = f"test-{uuid.uuid4()}"
        try:
            assert (await a.take(game, 5)).allowed  # leases 10: 30 left in Redis
            assert (await b.take(game, 30)).allowed  # leases the 30
            refused = await a.take(game, 10)  # a's lease holds 5, the bucket about nothing
            await asyncio.sleep(refused.retry_after_s)
            again = await a.take(game, 10)
            return refused, again
        finally:
            await a.close()
            await b.close()

    refused, again = asyncio.run(run())
    assert not refused.allowed and refused.source == "redis" and refused.retry_after_s == 1
    assert again.allowed


@pytest.mark.integration
def test_a_lease_is_dropped_after_its_ttl(stack_settings):
    async def run():
        budget = Budget(rate_per_s=1.0, burst=100)
        limiter = RateLimiter(stack_settings.redis_url, budget, LeasePolicy(lease_s=50.0, ttl_s=0.3))
        game = f"test-{uuid.uuid4()}"
        try:
            first = await limiter.take(game, 1)  # leases 50
            from_lease = await limiter.take(game, 1)
            await asyncio.sleep(0.4)
            after_ttl = await limiter.take(game, 1)  # the 48 left are dropped: a new lease from Redis
            rest = await limiter.take(game, 50)  # 100 - 50 - 50 = 0 left in Redis (plus ~0.4 refilled), lease holds 49
            return first, from_lease, after_ttl, rest
        finally:
            await limiter.close()

    first, from_lease, after_ttl, rest = asyncio.run(run())
    assert (first.source, from_lease.source, after_ttl.source) == ("redis", "lease", "redis")
    assert not rest.allowed and rest.retry_after_s >= 1  # the dropped 48 never come back


def test_concurrent_requests_of_one_game_share_a_single_lease_call():
    """One lease call in flight per game: the others wait for it and pay from it (Redis unreachable
    here: the first call fails over to the local bucket and the waiters follow it there)."""

    async def run():
        limiter = RateLimiter("redis://127.0.0.1:1/0", BUDGET)
        decisions = await asyncio.gather(*(limiter.take("g", 1) for _ in range(20)))
        await limiter.close()
        return decisions

    decisions = asyncio.run(run())
    assert all(d.allowed for d in decisions)
    assert [d.source for d in decisions].count("local") == 20
