"""processors/dlq_admin.py: every dead-letter type is produced, inspected with `gamemetrics dlq
inspect`, and a fixed one replayed with `gamemetrics dlq replay` lands."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid

import pytest
from confluent_kafka import Producer

from gamemetrics.envvars import settings_env
from store import db
from processors.dlq_admin import read_dead_letters
from gamemetrics.retry import EFFECTIVELY_FOREVER, RetryPolicy
from processors.landing import LandingSteps, Message
from processors.publisher import KafkaPublisher
from processors.resilience import DeadLetterLimit, FailurePolicy
from schemas.catalog import load_catalog
from schemas.ids import schema_ids
from schemas.wire import AvroSerializer
from streams.producer import EventProducer
from streams.topics import RAW_EVENTS
from tests.services import running_worker, wait_for

pytestmark = pytest.mark.integration
NOW = int(time.time() * 1000)


def event(event_type, **props):
    return {"event_id": str(uuid.uuid4()), "event_type": event_type, "player_id": "p1", "ts": NOW, "event_time": NOW,
            "session_id": "s1", "platform": "ios", "app_version": "1.0", "country": "IS", "properties": props}


def raw_batch(events):
    return {"batch_id": str(uuid.uuid4()), "game_id": "g1", "player_id": "p1", "received_at": NOW, "sent_at": None,
            "client_ip_hash": None, "events": events}


def run_gamemetrics(settings, *args) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "operations", *args], env={**os.environ, **settings_env(settings)},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result


def gamemetrics(settings, *args) -> str:
    return run_gamemetrics(settings, *args).stdout


def landed_ids(settings) -> set[str]:
    with db.connect(settings) as conn:
        return {r[0] for r in conn.execute("SELECT event_id::text FROM player_events").fetchall()}


def test_each_dead_letter_type_is_inspectable_and_a_fixed_one_replays(isolated, tmp_path):
    topic = isolated.topic(RAW_EVENTS.name)
    serializer = AvroSerializer(schema_ids(""), topic, load_catalog().latest("EventBatch"))
    good = event("session_start")
    icelandic = event("purchase", item_id="skin", amount=990, currency="ISK")     # ISO code, no rate yet
    whale = event("purchase", item_id="crown", amount=25_000, currency="USD")     # above the sanity limit
    broken = event("progression", level=2)                                       # status missing
    producer = Producer({"bootstrap.servers": isolated.kafka_bootstrap_servers, "acks": "all"})
    producer.produce(topic, key=b"p1", value=serializer.encode(raw_batch([good, icelandic, whale, broken])))
    producer.produce(topic, key=b"p1", value=b"\x00\x00\x00\x00\x02garbage")
    producer.flush(10)
    with running_worker(isolated, tmp_path, extra_env={"GAMEMETRICS_WORKER_RATES_REFRESH_S": "1"}):
        wait_for(lambda: landed_ids(isolated) == {good["event_id"]}, 60, "the good event")
        records = wait_for(lambda: len(r := list(read_dead_letters(isolated, idle_end_s=1.0))) >= 4 and r, 60, "4 DLQ records")
        by_type = {r.record["error_type"]: r.record for r in records}
        assert set(by_type) == {"unknown_currency", "out_of_range", "invalid_event", "undecodable"}
        assert by_type["unknown_currency"]["event_id"] == icelandic["event_id"]
        assert by_type["out_of_range"]["event_index"] == 2
        assert "properties.status" in by_type["invalid_event"]["detail"]
        assert by_type["undecodable"]["original"] == b"\x00\x00\x00\x00\x02garbage"

        inspected = run_gamemetrics(isolated, "dlq", "inspect")
        assert inspected.stderr.startswith("4 dead letters")  # the summary, on stderr
        for error_type in by_type:
            assert error_type in inspected.stderr
        # stdout is piped here: one JSON object per record, the original bytes in hex
        shown = [json.loads(line) for line in inspected.stdout.splitlines()]
        assert {r["error_type"] for r in shown} == set(by_type)
        assert b"\x00\x00\x00\x00\x02garbage".hex() in {r["original"] for r in shown}
        table = gamemetrics(isolated, "dlq", "inspect", "--type", "undecodable", "--output", "table")
        assert table.splitlines()[0].split()[:2] == ["FAILED_AT", "ERROR_TYPE"] and "undecodable" in table

        # the operator adds the missing rate and replays that dead letter: the purchase lands, once
        gamemetrics(isolated, "currencies", "set", "ISK", "0.0072")
        # the worker re-reads the currency table before a group once a second here (every minute by
        # default); nudge it with messages until it says it has read the new rate
        def rate_read() -> bool:
            producer.produce(topic, key=b"nudge", value=b"\x00\x00\x00\x00\x02nudge")
            producer.flush(10)
            return any("currency_rates_changed" in line and "ISK" in line
                       for line in (tmp_path / "worker.log").read_text().splitlines())

        wait_for(rate_read, 30, "the worker to read the new rate")
        assert "replayed 1" in gamemetrics(isolated, "dlq", "replay", "--type", "unknown_currency")
        wait_for(lambda: landed_ids(isolated) == {good["event_id"], icelandic["event_id"]}, 60, "the replayed purchase")
    with db.connect(isolated) as conn:
        revenue = conn.execute("SELECT revenue_usd FROM player_events WHERE event_id = %s", (icelandic["event_id"],)).fetchone()[0]
    assert float(revenue) == pytest.approx(990 * 0.0072)


class ExplodingSink:
    """Test seam: a sink (processors.ports.Sink) with a bug in every transaction."""

    async def usd_per_unit(self) -> dict[str, float]:
        return {"USD": 1.0}

    def transaction(self):
        raise RuntimeError("a bug in the sink")

    async def close(self) -> None:
        pass


def test_a_bug_sends_the_message_to_the_dlq_as_processing_error_instead_of_crashing(isolated):
    async def run():
        producer = EventProducer(isolated.kafka_bootstrap_servers)
        steps = LandingSteps(schema_ids(""), ExplodingSink(), KafkaPublisher(isolated, producer))
        policy = FailurePolicy(steps, RetryPolicy(EFFECTIVELY_FOREVER, 0.01, 0.05), DeadLetterLimit(0.5, 10))
        serializer = AvroSerializer(schema_ids(""), "t", load_catalog().latest("EventBatch"))
        messages = [Message("raw", 0, i, b"p1", serializer.encode(raw_batch([event("session_start")]))) for i in range(3)]
        outcome = await policy.land(messages)
        producer.close()
        return outcome

    outcome = asyncio.run(run())
    assert outcome.dead_letters == {"processing_error": 3}
    records = list(read_dead_letters(isolated, idle_end_s=1.0))
    assert [r.record["source_offset"] for r in records] == [0, 1, 2]
    assert all("a bug in the sink" in r.record["detail"] for r in records)
