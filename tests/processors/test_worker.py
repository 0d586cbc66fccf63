"""processors/worker.py: the landing workers on the real Kafka and PostgreSQL: exact counts through
replays, kills, outages and rebalances; rollups equal to a GROUP BY over the events; a bad deploy
stops the worker instead of dead-lettering the topic."""

from __future__ import annotations

import os
import signal
import time

import pytest
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

from store import db
from store.verify import rollup_differences
from streams.app import APP_ID, NOTIFICATIONS_APP_ID
from schemas.catalog import load_catalog
from schemas.ids import schema_ids
from schemas.wire import AvroDeserializer
from streams.topics import GAME_ID_HEADER, NOTIFICATIONS, PROCESSED_EVENTS, RAW_EVENTS
from tests.processors.load import produce_load
from tests.services import running_worker, wait_for
from tests.helpers import group_caught_up, group_topics

pytestmark = pytest.mark.integration

ROLLUP_TABLES = ("event_rollup_minute", "player_daily_activity", "players", "sessions", "match_outcomes_hourly",
                 "rollup_minute_players")
QUIET = {"GAMEMETRICS_WORKER_METRICS_PORT": "0"}


def counts(settings) -> tuple[int, int]:
    with db.connect(settings) as conn:
        return conn.execute("SELECT count(*), count(DISTINCT event_id) FROM player_events").fetchone()


def snapshot(settings) -> dict[str, list]:
    with db.connect(settings) as conn:
        # whole rows sorted: some keys have four columns, so ORDER BY 1, 2, 3 would leave ties in any order
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in ROLLUP_TABLES + ("player_events",)}


def assert_exact(settings, load) -> None:
    total, distinct = counts(settings)
    assert total == distinct == len(load.event_ids), (total, distinct, len(load.event_ids))
    with db.connect(settings) as conn:
        assert rollup_differences(conn) == {}
        landed = {r[0] for r in conn.execute("SELECT event_id::text FROM player_events").fetchall()}
    assert landed == load.event_ids


def assert_processed_batches_name_their_game(settings, expected_game: str, sample: int = 20) -> None:
    """Processed batches carry a game_id header equal to the game in their body (consumers skip on it)."""
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap_servers, "group.id": f"check-{time.time_ns()}",
                         "auto.offset.reset": "earliest"})
    consumer.subscribe([settings.topic(PROCESSED_EVENTS.name)])
    reader = AvroDeserializer(schema_ids(""), load_catalog().latest(PROCESSED_EVENTS.value_schema), logical=False)
    seen = 0
    try:
        deadline = time.time() + 30
        while seen < sample and time.time() < deadline:
            message = consumer.poll(1.0)
            if message is None or message.error():
                continue
            headers = dict(message.headers() or [])
            assert headers[GAME_ID_HEADER].decode() == reader.decode(message.value())["game_id"] == expected_game
            seen += 1
    finally:
        consumer.close()
    assert seen == sample, f"read {seen} processed batches, wanted {sample}"


def all_landed(settings, load) -> bool:
    return counts(settings)[0] >= len(load.event_ids) and group_caught_up(settings)


def test_a_load_with_client_retries_lands_once_and_a_replay_changes_nothing(isolated, tmp_path):
    load = produce_load(isolated, "g1", requests=400, retry_fraction=0.1)
    assert load.retried_events > 0
    with running_worker(isolated, tmp_path, "worker-1", QUIET):
        wait_for(lambda: all_landed(isolated, load), 120, "the load to land")
    assert_exact(isolated, load)
    assert_processed_batches_name_their_game(isolated, expected_game="g1")
    before = snapshot(isolated)
    # rewind the consumer group to offset 0 on every partition, and run a worker again
    admin = AdminClient({"bootstrap.servers": isolated.kafka_bootstrap_servers})
    group = isolated.topic_prefix + APP_ID
    rewind = [TopicPartition(isolated.topic(RAW_EVENTS.name), p, 0) for p in range(RAW_EVENTS.partitions)]
    admin.alter_consumer_group_offsets([ConsumerGroupTopicPartitions(group, rewind)])[group].result()
    with running_worker(isolated, tmp_path, "worker-2", QUIET):
        wait_for(lambda: group_caught_up(isolated), 120, "the replay")
    after = snapshot(isolated)
    for table in before:
        assert after[table] == before[table], f"{table} changed on replay"


def test_sigkill_of_a_worker_mid_load_leaves_exact_counts(isolated, tmp_path):
    load = produce_load(isolated, "g1", requests=2500, retry_fraction=0.05, seed=2)
    with running_worker(isolated, tmp_path, "victim", QUIET) as victim:
        wait_for(lambda: 0 < counts(isolated)[0], 60, "the first rows")
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait()
    assert counts(isolated)[0] < len(load.event_ids), "killed too late to test anything; produce more"
    with running_worker(isolated, tmp_path, "replacement", QUIET):
        wait_for(lambda: all_landed(isolated, load), 180, "the replacement to finish")
    assert_exact(isolated, load)


def test_two_workers_split_the_partitions_and_counts_are_exact(isolated, tmp_path):
    load = produce_load(isolated, "g1", requests=1200, seed=3)
    with running_worker(isolated, tmp_path, "w1", QUIET), running_worker(isolated, tmp_path, "w2", QUIET):
        admin = AdminClient({"bootstrap.servers": isolated.kafka_bootstrap_servers})
        group = isolated.topic_prefix + APP_ID

        def members_with_partitions():
            described = admin.describe_consumer_groups([group])[group].result()
            owned = [len(m.assignment.topic_partitions) for m in described.members]
            return len(owned) == 2 and all(owned) and owned

        owned = wait_for(members_with_partitions, 90, "two members sharing the partitions")
        assert sum(owned) >= RAW_EVENTS.partitions
        wait_for(lambda: all_landed(isolated, load), 180, "the load to land")
    assert_exact(isolated, load)


def test_with_no_notifications_the_worker_consumes_only_the_raw_topic(isolated, tmp_path):
    # the split of the chart's worker.runsNotificationAgents=false: landing here, notifications apart
    raw = isolated.topic(RAW_EVENTS.name)
    notification_topics = {isolated.topic(PROCESSED_EVENTS.name), isolated.topic(NOTIFICATIONS.name)}
    with running_worker(isolated, tmp_path, "combined", QUIET):
        assert wait_for(lambda: group_topics(isolated, APP_ID), 90, "the worker's assignment") == {raw} | notification_topics
    load = produce_load(isolated, "g1", requests=100, seed=6)
    with running_worker(isolated, tmp_path, "landing-only", QUIET, ("worker", "--no-notifications")):
        wait_for(lambda: group_topics(isolated, APP_ID) == {raw}, 90, "an assignment of the raw topic alone")
        wait_for(lambda: all_landed(isolated, load), 120, "the load to land")
        assert group_topics(isolated, NOTIFICATIONS_APP_ID) is None  # nobody runs the agents
    assert_exact(isolated, load)


def test_postgres_stopped_and_restarted_during_a_load_loses_nothing(isolated, tmp_path, own_postgres_settings):
    pg, settings = own_postgres_settings
    load = produce_load(settings, "g1", requests=1500, seed=4)
    with running_worker(settings, tmp_path, "worker", QUIET):
        wait_for(lambda: counts(settings)[0] > 0, 60, "the first rows")
        pg.stop()
        wait_for(lambda: "landing_retry" in (tmp_path / "worker.log").read_text(), 60,
                 "the worker to retry against the stopped database")
        pg.start()
        pg.wait_ready(pg.url)
        wait_for(lambda: all_landed(settings, load), 180, "the load to land after the outage")
    assert_exact(settings, load)
    assert "landing_retry" in (tmp_path / "worker.log").read_text()


def dead_letters(settings) -> list[dict]:
    from processors.dlq_admin import read_dead_letters

    return [r.record for r in read_dead_letters(settings, idle_end_s=1.0)]


def test_postgres_restarted_while_the_worker_is_idle_then_a_load_lands_whole(isolated, tmp_path, own_postgres_settings):
    """Issue 11 defect 4: after a restart the first refresh of the currency table met a dead connection
    and the message became a processing_error dead letter (5 of 6 accepted events landed)."""
    pg, settings = own_postgres_settings
    knobs = {**QUIET, "GAMEMETRICS_WORKER_RATES_REFRESH_S": "0.5"}
    with running_worker(settings, tmp_path, "worker", knobs):
        first = produce_load(settings, "g1", requests=20, retry_fraction=0, seed=5)
        wait_for(lambda: all_landed(settings, first), 120, "the first load")
        pg.stop()  # the worker is idle: nothing to retry, its connection simply dies
        pg.start()
        pg.wait_ready(pg.url)
        second = produce_load(settings, "g1", requests=60, retry_fraction=0, seed=6)
        expected = len(first.event_ids | second.event_ids)
        wait_for(lambda: counts(settings)[0] >= expected and group_caught_up(settings), 120, "the load after the restart")
    total, distinct = counts(settings)
    assert total == distinct == len(first.event_ids | second.event_ids)
    assert [d["error_type"] for d in dead_letters(settings)] == []


def test_a_bad_deploy_stops_the_worker_without_committing_instead_of_dead_lettering_the_topic(isolated, tmp_path):
    load = produce_load(isolated, "g1", requests=30, retry_fraction=0, seed=7)
    with db.connect(isolated, autocommit=True) as conn:
        conn.execute("DROP TABLE match_outcomes_hourly")  # a release whose migration was not run
    knobs = {**QUIET, "GAMEMETRICS_WORKER_MAX_PROCESSING_ERROR_SHARE": "0.1",
             "GAMEMETRICS_WORKER_PROCESSING_ERROR_WINDOW": "30", "GAMEMETRICS_WORKER_TAKE_MAX_MESSAGES": "10"}
    with running_worker(isolated, tmp_path, "worker", knobs) as worker:
        exit_code = wait_for(lambda: worker.poll() is not None and (worker.returncode,), 120, "the worker to stop")[0]
    log = (tmp_path / "worker.log").read_text()
    assert exit_code != 0
    assert "dead_letter_limit_exceeded" in log
    records = dead_letters(isolated)
    assert [r["error_type"] for r in records] == ["processing_error"] * 3  # 10% of 30, not the topic
    assert counts(isolated) == (0, 0)
    assert not group_caught_up(isolated)
    assert load.messages > 3
