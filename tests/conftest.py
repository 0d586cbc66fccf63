"""Shared fixtures.

Integration tests (marker ``integration``) run against real services:
- by default the project's embedded local stack (``gamemetrics stack up``), started once per
  session and left running (a second ``up`` is a no-op);
- services named by GAMEMETRICS_KAFKA_BOOTSTRAP_SERVERS / _DATABASE_URL / _REDIS_URL are used
  as they are;
- with GAMEMETRICS_TEST_BACKEND=testcontainers (needs a Docker engine) Kafka, PostgreSQL and
  Redis containers are started instead.
Each test gets its own topic prefix and database schema, so tests never see each other's data.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from gamemetrics.settings import Settings, load_settings


def _testcontainers_settings(stack: list) -> Settings:  # pragma: no cover - needs Docker
    from testcontainers.kafka import KafkaContainer
    from testcontainers.postgres import PostgresContainer
    from testcontainers.redis import RedisContainer

    kafka = KafkaContainer().with_kraft()
    postgres = PostgresContainer("postgres:16", driver=None)
    redis = RedisContainer()
    for container in (kafka, postgres, redis):
        container.start()
        stack.append(container)
    redis_host = redis.get_container_host_ip()
    return load_settings(
        kafka_bootstrap_servers=kafka.get_bootstrap_server(),
        database_url=postgres.get_connection_url(),
        redis_url=f"redis://{redis_host}:{redis.get_exposed_port(6379)}/0",
    )


@pytest.fixture(scope="session")
def stack_settings() -> Iterator[Settings]:
    """Settings of a running stack (started here when needed)."""
    containers: list = []
    if os.environ.get("GAMEMETRICS_TEST_BACKEND") == "testcontainers":
        settings = _testcontainers_settings(containers)
    else:
        settings = load_settings()
    from operations.stack.local import LocalStack

    LocalStack(settings).up()
    yield settings
    for container in containers:
        container.stop()


def _isolate(stack_settings: Settings) -> Iterator[Settings]:
    from store.migrate import drop_schema, upgrade
    from streams.topics import delete_topics, ensure_topics

    tag = uuid.uuid4().hex[:10]
    settings = stack_settings.model_copy(update={"topic_prefix": f"t{tag}.", "database_schema": f"t_{tag}"})
    ensure_topics(settings.kafka_bootstrap_servers, settings.topic_prefix)
    upgrade(settings)
    yield settings
    drop_schema(settings)
    delete_topics(settings.kafka_bootstrap_servers, settings.topic_prefix)


@pytest.fixture
def isolated(stack_settings: Settings) -> Iterator[Settings]:
    """Settings with this test's own topics (prefix) and database schema, created and migrated."""
    yield from _isolate(stack_settings)


@pytest.fixture(scope="module")
def isolated_module(stack_settings: Settings) -> Iterator[Settings]:
    """Like ``isolated``, shared by the tests of one module (e.g. one ingest process for all)."""
    yield from _isolate(stack_settings)
