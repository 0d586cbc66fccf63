"""processors/resilience.py on the in-memory seam: backpressure pauses and retries the same group,
a poison message becomes a processing_error alone, and too many of them stop the worker."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY

from gamemetrics.retry import RetryPolicy
from processors.errors import DeadLetterLimitExceeded
from processors.landing import LandingSteps
from processors.memory import InMemoryPublisher, InMemorySink, InMemoryTransaction
from processors.resilience import DeadLetterLimit, ErrorWindow, FailurePolicy
from schemas.ids import CatalogIds
from store.errors import StoreUnavailable
from tests.processors.backends import event, messages

FAST = RetryPolicy(1000, 0.001, 0.01)


class FlakySink(InMemorySink):
    """Unavailable for the first ``failures`` reads of the currency table, then fine."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def usd_per_unit(self):
        if self.failures:
            self.failures -= 1
            raise StoreUnavailable("PostgreSQL restarting")
        return await super().usd_per_unit()


class BuggyTransaction(InMemoryTransaction):
    async def land(self, events):
        if any(e.event["player_id"].startswith("poison") for e in events):
            raise KeyError("a bug that only shows on poison players")
        return await super().land(events)


class BuggySink(InMemorySink):
    def transaction(self):
        sink = self

        class _Tx:
            async def __aenter__(self):
                self._inner = InMemorySink.transaction(sink)
                tx = await self._inner.__aenter__()
                return BuggyTransaction(tx._t)

            async def __aexit__(self, *exc):
                return await self._inner.__aexit__(*exc)

        return _Tx()


def retries(reason: str) -> float:
    return REGISTRY.get_sample_value("gamemetrics_landing_retries_total", {"reason": reason}) or 0.0


def stops() -> float:
    return REGISTRY.get_sample_value("gamemetrics_landing_dead_letter_limit_stops_total") or 0.0


def test_backpressure_retries_the_same_group_until_it_lands_and_dead_letters_nothing():
    sink, publisher = FlakySink(failures=3), InMemoryPublisher()
    policy = FailurePolicy(LandingSteps(CatalogIds(), sink, publisher), FAST, DeadLetterLimit(0.1, 100))
    before = retries("StoreUnavailable")
    group = [event(), event()]
    outcome = asyncio.run(policy.land(messages(group)))
    assert outcome.landed == 2 and outcome.dead_letters == {}
    assert {r.event["event_id"] for r in sink.rows()} == {e["event_id"] for e in group}
    assert publisher.dead_letter_records == []
    assert retries("StoreUnavailable") == before + 3


def test_a_poison_message_is_dead_lettered_alone_and_its_neighbours_land():
    publisher = InMemoryPublisher()
    policy = FailurePolicy(LandingSteps(CatalogIds(), BuggySink(), publisher), FAST, DeadLetterLimit(0.5, 10))
    group = messages([event(player="a")], [event(player="poison-1")], [event(player="b")])
    outcome = asyncio.run(policy.land(group))
    assert outcome.landed == 2 and outcome.dead_letters == {"processing_error": 1}
    [(key, record)] = publisher.dead_letter_records
    assert key == b"poison-1" and record["source_offset"] == 1 and "KeyError" in record["detail"]


def test_more_processing_errors_than_the_limit_stop_without_dead_lettering_the_rest():
    publisher = InMemoryPublisher()
    policy = FailurePolicy(LandingSteps(CatalogIds(), BuggySink(), publisher), FAST, DeadLetterLimit(0.2, 10))
    before = stops()
    bad_deploy = messages(*[[event(player=f"poison-{i}")] for i in range(6)])
    with pytest.raises(DeadLetterLimitExceeded, match="more than 20% of the last 10 messages"):
        asyncio.run(policy.land(bad_deploy))
    assert len(publisher.dead_letter_records) == 2  # the share allowed, not the whole topic
    assert stops() == before + 1


def test_processing_errors_spread_wider_than_the_window_do_not_stop():
    publisher = InMemoryPublisher()
    policy = FailurePolicy(LandingSteps(CatalogIds(), BuggySink(), publisher), FAST, DeadLetterLimit(0.2, 10))
    for round_ in range(4):  # 2 errors per 10 messages: at the limit, never over it
        group = messages(*[[event(player=f"poison-{round_}-{i}")] for i in range(2)],
                         *[[event(player=f"ok-{round_}-{i}")] for i in range(8)])
        assert asyncio.run(policy.land(group)).dead_letters == {"processing_error": 2}
    assert len(publisher.dead_letter_records) == 8


def test_the_error_window_slides():
    window = ErrorWindow(DeadLetterLimit(0.2, 5))  # at most 1 error in the last 5
    window.error()
    assert window.would_exceed()
    window.landed(3)
    assert window.would_exceed()  # the next message and the error would both be among the last 5
    window.landed(1)
    assert not window.would_exceed()  # the next message pushes the error out of the window
    window.landed(1)
    assert window.errors == 0
