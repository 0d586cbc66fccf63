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
    kafka = LocalKafka(tmp_path / "kafka", port=59192, controller_port=59193)
    if not stack.kafka.installed():
        pytest.skip("this run uses external Kafka: no local jars to run kafka-storage from")
    kafka.use_libs_of(stack.kafka)
    kafka.root.mkdir(parents=True)
    kafka.config.write_text(SERVER_PROPERTIES.format(port=59192, controller_port=59193, data=kafka.data))
    kafka.log4j.write_text(LOG4J_PROPERTIES.format(log=kafka.log))
    kafka.format_storage("-kW7dwp8QKyKN1cEgcnuSw")
    assert "cluster.id=-kW7dwp8QKyKN1cEgcnuSw" in (kafka.data / "meta.properties").read_text()
