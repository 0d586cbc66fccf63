"""The landing contract (processors/landing.py), one suite run on two backends: the in-memory
seam (fast, unit) and the real PostgreSQL + Kafka (integration). A backend that passes lands each
event once, publishes what it landed, dead-letters bad events alone, and keeps nothing of a group
it could not finish."""

from __future__ import annotations

import asyncio

import pytest

from processors.errors import Backpressure
from tests.processors.backends import DAY_MS, MemoryBackend, RealBackend, event, messages, retried
from tests.services import free_port


def run(backend, group):
    return asyncio.run(backend.steps.run(group))


class LandingContract:
    """Subclasses provide the ``backend`` fixture."""

    def test_lands_each_event_once_and_publishes_what_it_landed(self, backend):
        first = [event(), event("achievement", achievement_id="a1")]
        second = [event(player="p2")]
        outcome = run(backend, messages(first, second))
        assert (outcome.landed, outcome.duplicates, outcome.dead_letters) == (3, 0, {})
        stored = backend.stored()
        assert set(stored) == {e["event_id"] for e in first + second}
        assert [stored[e["event_id"]].session_seq for e in first] == [1, 2]
        assert stored[first[0]["event_id"]].is_new_player
        batches = backend.processed(expect=2)
        items = {i["event"]["event_id"]: i for b in batches for i in b["events"]}
        assert set(items) == set(stored)
        for event_id, item in items.items():  # the processed topic carries what player_events holds
            assert (item["platform"], item["app_version"]) == (stored[event_id].platform, stored[event_id].app_version)
            assert (item["platform"], item["app_version"]) == ("ios", "2.3.1")
            assert item["event"]["platform"] == "iPhone"  # the event itself stays as sent

    def test_a_kafka_replay_lands_and_publishes_nothing_new(self, backend):
        group = messages([event(), event("achievement", achievement_id="a1")])
        assert run(backend, group).landed == 2
        again = run(backend, group)
        assert (again.landed, again.duplicates) == (0, 2)
        assert len(backend.stored()) == 2
        assert len(backend.processed(expect=1)) == 1

    @pytest.mark.parametrize("skew_days", [3, -3, 0.001])
    def test_a_client_retry_with_a_corrected_clock_is_stored_once(self, backend, skew_days):
        # issue 11 defect 6: the device clock was off by days; the retry's sent_at moved the event_time
        original = [event("purchase", item_id="gem", amount=4.99, currency="USD")]
        assert run(backend, messages(original)).landed == 1
        retry = [retried(original[0], int(skew_days * DAY_MS))]
        outcome = run(backend, messages(retry, first_offset=1))
        assert (outcome.landed, outcome.duplicates) == (0, 1)
        assert list(backend.stored()) == [original[0]["event_id"]]

    def test_one_event_postgres_cannot_store_is_dead_lettered_alone(self, backend):
        # issue 11 defect 3: a NUL character anywhere in text, from a producer other than our ingest
        good = [event(), event("achievement", achievement_id="a1")]
        in_property = event("achievement", achievement_id="a\x00b")
        in_session = dict(event("achievement", achievement_id="a2"), session_id="s\x00")
        not_a_uuid = dict(event("achievement", achievement_id="a3"), event_id="not-a-uuid")
        outcome = run(backend, messages([good[0], in_property, good[1], in_session, not_a_uuid]))
        assert outcome.landed == 2
        assert outcome.dead_letters == {"invalid_event": 3}
        assert set(backend.stored()) == {e["event_id"] for e in good}
        dead = {d["event_index"]: d for d in backend.dead_letters(expect=3)}
        assert set(dead) == {1, 3, 4}
        assert dead[1]["error_type"] == "invalid_event" and "properties.achievement_id" in dead[1]["detail"]
        assert "NUL" in dead[1]["detail"] and "events[3].session_id" in dead[3]["detail"]
        assert "events[4].event_id" in dead[4]["detail"]

    def test_store_unavailable_is_backpressure_and_keeps_nothing(self, backend):
        group = messages([event()])
        backend.store_down()
        with pytest.raises(Backpressure) as signal:
            run(backend, group)
        assert signal.value.reason == "StoreUnavailable"
        backend.store_up()
        assert backend.stored() == {}
        assert run(backend, group).landed == 1

    def test_kafka_not_acknowledging_rolls_the_landing_back(self, backend):
        group = messages([event(), event(player="p2")])
        backend.broker_down()
        with pytest.raises(Backpressure) as signal:
            run(backend, group)
        assert signal.value.reason == "ProduceError"
        assert backend.stored() == {}  # published before the commit: no ack, no rows
        backend.broker_up()
        assert run(backend, group).landed == 2
        assert len(backend.stored()) == 2


class TestInMemory(LandingContract):
    @pytest.fixture
    def backend(self):
        backend = MemoryBackend()
        yield backend
        asyncio.run(backend.close())


@pytest.mark.integration
class TestPostgresAndKafka(LandingContract):
    @pytest.fixture
    def backend(self, isolated):
        backend = RealBackend(isolated, dead_port=free_port())
        yield backend
        asyncio.run(backend.close())
