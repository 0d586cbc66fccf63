import pytest

from gamemetrics.stack.local import LocalStack
from streams.topics import ALL_TOPICS, ensure_topics

pytestmark = pytest.mark.integration


def test_every_service_reports_running(stack_settings):
    status = {s.name: s for s in LocalStack(stack_settings).status()}
    assert set(status) == {"kafka", "postgresql", "redis"}
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
