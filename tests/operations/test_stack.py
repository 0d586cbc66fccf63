import pytest

from operations.stack.local import LocalStack
from streams.topics import ALL_TOPICS, ensure_topics

pytestmark = pytest.mark.integration


def test_every_service_reports_running(stack_settings):
    status = {s.name: s for s in LocalStack(stack_settings).status()}
    assert set(status) == {"kafka", "postgresql", "redis", "s3"}
    assert all(s.running for s in status.values()), status


def test_up_twice_changes_nothing(stack_settings):
    said: list[str] = []
    LocalStack(stack_settings, said.append).up()
    assert "topics: all present" in said
    assert not any("started" in line and "already" not in line for line in said), said
    assert ensure_topics(stack_settings.kafka_bootstrap_servers) == []


def test_topics_of_the_design_exist_with_their_partitions(isolated):
    from confluent_kafka.admin import AdminClient

    metadata = AdminClient({"bootstrap.servers": isolated.kafka_bootstrap_servers}).list_topics(timeout=10)
    for spec in ALL_TOPICS:
        topic = metadata.topics[isolated.topic(spec.name)]
        assert len(topic.partitions) == spec.partitions


def test_kraft_storage_formats_with_a_cluster_id_that_begins_with_a_dash(stack_settings, tmp_path):
    # one random id in 64 begins with "-": kafka-storage's argparse took it for an option (a CI run failed so)
    from operations.stack.kafka import LOG4J_PROPERTIES, SERVER_PROPERTIES, LocalKafka

    stack = LocalStack(stack_settings)
    kafka = LocalKafka(tmp_path / "kafka", port=19192, controller_port=19193)
    if not stack.kafka.installed():
        pytest.skip("this run uses external Kafka: no local jars to run kafka-storage from")
    kafka.use_libs_of(stack.kafka)
    kafka.root.mkdir(parents=True)
    kafka.config.write_text(SERVER_PROPERTIES.format(port=19192, controller_port=19193, data=kafka.data))
    kafka.log4j.write_text(LOG4J_PROPERTIES.format(log=kafka.log))
    kafka.format_storage("-kW7dwp8QKyKN1cEgcnuSw")
    assert "cluster.id=-kW7dwp8QKyKN1cEgcnuSw" in (kafka.data / "meta.properties").read_text()


def _fake_pg_config(bin_dir, share):
    """A ``pg_config`` that names an empty share dir: a PostgreSQL without TimescaleDB."""
    bin_dir.mkdir()
    script = bin_dir / "pg_config"
    script.write_text(f"#!/bin/sh\necho {share}\n")
    script.chmod(0o755)
    return bin_dir


def test_up_preloads_timescaledb_when_it_is_installed_and_says_so(stack_settings, tmp_path):
    import os
    from pathlib import Path

    from operations.stack.postgres import LocalPostgres, bindir, timescaledb_installed
    from tests.services import free_port

    bin_dir = Path(os.environ.get("GAMEMETRICS_TEST_PG_BINDIR") or bindir() or "/nonexistent")
    if not bin_dir.exists() or not timescaledb_installed(bin_dir):
        pytest.skip(f"TimescaleDB is not installed into the PostgreSQL of {bin_dir}")
    said: list[str] = []
    stack = LocalStack(stack_settings, said.append)
    stack.postgres = LocalPostgres(tmp_path / "pg", port=free_port(), bin_dir=bin_dir)
    try:
        stack.start_postgres()
        stack.postgres.wait_ready(stack.postgres.url)
        assert "timescaledb" in stack.postgres.preloaded()
        import psycopg

        with psycopg.connect(stack.postgres.url.rsplit("/", 1)[0] + "/postgres") as conn:
            assert conn.execute("SHOW timescaledb.telemetry_level").fetchone()[0] == "off"
        assert any("with shared_preload_libraries = 'timescaledb'" in line for line in said), said
        stack.check_preloaded()
        assert said[-1] == "postgresql: TimescaleDB preloaded"
    finally:
        stack.postgres.stop()
        stack.postgres.purge()


def test_timescaledb_asked_for_but_not_installed_fails_before_starting_anything(stack_settings, tmp_path):
    from operations.errors import StackError
    from operations.stack.postgres import LocalPostgres
    from store.settings import StoreSettings

    (tmp_path / "share" / "extension").mkdir(parents=True)
    bin_dir = _fake_pg_config(tmp_path / "bin", tmp_path / "share")
    stack = LocalStack(stack_settings, store=StoreSettings(backend="timescaledb"))
    stack.postgres = LocalPostgres(tmp_path / "pg", port=59999, bin_dir=bin_dir)
    with pytest.raises(StackError, match="GAMEMETRICS_STORE_BACKEND=timescaledb, but TimescaleDB is not installed"):
        stack.start_postgres()
    assert not (tmp_path / "pg").exists()


def test_native_starts_plain_postgresql_even_where_timescaledb_is_installed(stack_settings, tmp_path):
    from store.settings import StoreSettings

    stack = LocalStack(stack_settings, store=StoreSettings(backend="native"))
    assert stack.postgres.preload() == ()
