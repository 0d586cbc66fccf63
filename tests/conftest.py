"""Shared fixtures.

Integration tests (marker ``integration``) run against real services:
- by default the project's embedded local stack (``gamemetrics stack up``), started once per
  session and left running (a second ``up`` is a no-op);
- services named by GAMEMETRICS_KAFKA_BOOTSTRAP_SERVERS / _DATABASE_URL / _REDIS_URL are used
  as they are;
- with GAMEMETRICS_TEST_BACKEND=testcontainers (needs a Docker engine) Kafka, PostgreSQL and
  Redis containers are started instead.
Each test gets its own topic prefix and database schema, so tests never see each other's data.

Store backends: the tests under BOTH_BACKENDS run twice, once on native daily partitions
(``[native]``) and once on a TimescaleDB hypertable (``[timescaledb]``): the ``isolated`` fixtures
migrate their schema with that backend. TimescaleDB runs in the stack's own PostgreSQL when it
preloads it (``gamemetrics stack up`` does when TimescaleDB is installed), else in a second local
cluster started for the session with ``shared_preload_libraries = 'timescaledb'``; the
``[timescaledb]`` tests are skipped, saying why, when TimescaleDB is not installed at all.
GAMEMETRICS_TEST_PG_BINDIR names the server binaries of that second cluster (default: Debian's).
Every other test runs once, on whatever the stack's database gives (``auto``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

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


BACKENDS = ("native", "timescaledb")
# Where the tests run on both store backends (paths relative to tests/).
BOTH_BACKENDS = ("store", "processors", "graphql_api", "retention", "test_end_to_end.py")
# Not the store's concern, and slow: notification rules, the live Kafka fan-out and the browser test
# (the dashboard draws what the analytics queries answer, and those run on both).
BOTH_BACKENDS_EXCEPT = ("processors/notifications", "graphql_api/test_subscriptions.py", "graphql_api/test_dashboard.py")


def _runs_on_both_backends(path: Path) -> bool:
    relative = path.relative_to(Path(__file__).parent).as_posix()

    def inside(prefix: str) -> bool:
        return relative == prefix or relative.startswith(prefix + "/")

    return any(map(inside, BOTH_BACKENDS)) and not any(map(inside, BOTH_BACKENDS_EXCEPT))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store_backend" in metafunc.fixturenames and _runs_on_both_backends(metafunc.definition.path):
        metafunc.parametrize("store_backend", BACKENDS, indirect=True, scope="session")


@pytest.fixture(scope="session")
def store_backend(request: pytest.FixtureRequest) -> str:
    """``native`` or ``timescaledb`` under BOTH_BACKENDS; elsewhere ``auto`` (the stack's database decides)."""
    return getattr(request, "param", "auto")


@pytest.fixture(scope="session")
def pg_bin_dir() -> Path | None:
    """Server binaries for the PostgreSQL clusters tests start themselves (GAMEMETRICS_TEST_PG_BINDIR)."""
    from operations.stack.postgres import bindir

    env_bin_dir = os.environ.get("GAMEMETRICS_TEST_PG_BINDIR")
    return Path(env_bin_dir) if env_bin_dir else bindir()


@pytest.fixture(scope="session")
def timescale_settings(
    stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory, pg_bin_dir: Path | None
) -> Iterator[Settings]:
    """Settings of a PostgreSQL that runs TimescaleDB (the stack's own, or a second local cluster)."""
    from operations.stack.postgres import LocalPostgres, sharedir, timescaledb_installed
    from store import db
    from store.backend import probe
    from tests.services import free_port

    with db.connect(stack_settings) as conn:
        if probe(conn).usable:
            yield stack_settings
            return
    bin_dir = pg_bin_dir
    if bin_dir is None or not timescaledb_installed(bin_dir):
        where = f"{sharedir(bin_dir)}/extension" if bin_dir else "PostgreSQL (not installed)"
        pytest.skip(
            f"TimescaleDB is not installed (no timescaledb.control in {where}): `gamemetrics stack install`"
            " installs it from ../shared/timescaledb (GAMEMETRICS_STACK_TIMESCALEDB_BUNDLE)"
        )
    cluster = LocalPostgres(tmp_path_factory.mktemp("timescaledb"), port=free_port(), bin_dir=bin_dir,
                            preload=("timescaledb",))
    try:
        cluster.start()
        cluster.wait_ready(cluster.url)
        cluster.ensure_database()
        yield stack_settings.model_copy(update={"database_url": cluster.url})
    finally:
        cluster.stop()
        cluster.purge()


@pytest.fixture
def own_postgres(request: pytest.FixtureRequest, tmp_path: Path, store_backend: str, pg_bin_dir: Path | None):
    """A (stopped) PostgreSQL cluster of the test's own, to stop and restart, able to run the test's
    store backend (``[timescaledb]``: preloads it; skipped like the others when it is not installed).
    Migrate it with ``upgrade(settings, backend=store_backend)``."""
    from operations.stack.postgres import LocalPostgres
    from tests.services import free_port

    if store_backend == "timescaledb":
        request.getfixturevalue("timescale_settings")  # the skip, saying why, when TimescaleDB is absent
    preload = {"timescaledb": ("timescaledb",), "native": ()}.get(store_backend)
    return LocalPostgres(tmp_path / "pg", port=free_port(), bin_dir=pg_bin_dir, preload=preload)


@pytest.fixture
def own_postgres_settings(own_postgres, isolated: Settings, store_backend: str) -> Iterator[tuple[object, Settings]]:
    """``own_postgres`` started, with the test's database created and migrated: (the cluster, the test's
    settings pointing at it); stopped at the end. The test may stop and start the cluster."""
    from store.migrate import upgrade

    own_postgres.start()
    try:
        own_postgres.wait_ready(own_postgres.url)
        own_postgres.ensure_database()
        settings = isolated.model_copy(update={"database_url": own_postgres.url})
        upgrade(settings, backend=store_backend)  # type: ignore[arg-type]
        yield own_postgres, settings
    finally:
        own_postgres.stop()


def _isolate(request: pytest.FixtureRequest, stack_settings: Settings, backend: str) -> Iterator[Settings]:
    from store.migrate import drop_schema, upgrade
    from streams.topics import delete_topics, ensure_topics

    base = request.getfixturevalue("timescale_settings") if backend == "timescaledb" else stack_settings
    tag = uuid.uuid4().hex[:10]
    settings = base.model_copy(update={"topic_prefix": f"t{tag}.", "database_schema": f"t_{tag}"})
    ensure_topics(settings.kafka_bootstrap_servers, settings.topic_prefix)
    upgrade(settings, backend=backend)  # type: ignore[arg-type]
    yield settings
    drop_schema(settings)
    delete_topics(settings.kafka_bootstrap_servers, settings.topic_prefix)


@pytest.fixture
def isolated(request: pytest.FixtureRequest, stack_settings: Settings, store_backend: str) -> Iterator[Settings]:
    """Settings with this test's own topics (prefix) and database schema, created and migrated
    (``player_events`` split by ``store_backend``)."""
    yield from _isolate(request, stack_settings, store_backend)


@pytest.fixture(scope="module")
def isolated_module(request: pytest.FixtureRequest, stack_settings: Settings, store_backend: str) -> Iterator[Settings]:
    """Like ``isolated``, shared by the tests of one module (e.g. one ingest process for all)."""
    yield from _isolate(request, stack_settings, store_backend)
