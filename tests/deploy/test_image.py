"""The container image: built by scripts/image.sh with podman, its ingest, worker and GraphQL
containers run against the local stack (host network), events posted to the ingest container
land through the worker container and are counted by the GraphQL container.

The containers run as Kubernetes would run them: read-only root file system with tmpfs at /tmp
and the state dir
(owned by the image user, as an emptyDir with fsGroup is), every capability dropped, no-new-privileges, the image's non-root user.
Skipped, saying why, where podman is not installed. GAMEMETRICS_TEST_IMAGE names an image to use
instead of building one (CI builds it in its own step).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from gamemetrics.envvars import settings_env
from gamemetrics.settings import Settings
from graphql_api.auth import issue_token
from graphql_api.settings import GraphQLSettings
from store import db
from store.games import create_game
from tests.deploy.tools import ROOT
from tests.services import free_port, wait_for

pytestmark = pytest.mark.integration

JWT_SECRET = "image-test-secret-of-the-graphql-container-0123456789abcdef"
BUILD_TIMEOUT_S = 3600  # first build on a busy 2-core machine: wheels + cargo + mmdebstrap + podman build


def podman() -> list[str]:
    if not shutil.which("podman"):
        pytest.skip("podman is not installed (apt-get install podman runc mmdebstrap; see ../shared/CONTAINERS.md)")
    if os.geteuid() != 0:
        pytest.skip("the image test runs root podman (rootless podman needs subuid ranges this machine lacks)")
    return ["podman", "--runtime", "runc", "--cgroup-manager=cgroupfs"]


def podman_env() -> dict[str, str]:
    return {**os.environ, "CONTAINERS_CONF": str(ROOT / "deploy" / "podman" / "containers.conf")}


@pytest.fixture(scope="module")
def image() -> str:
    podman()
    if os.environ.get("GAMEMETRICS_TEST_IMAGE"):
        return os.environ["GAMEMETRICS_TEST_IMAGE"]
    tag = "localhost/gamemetrics:test"
    done = subprocess.run(["bash", str(ROOT / "scripts" / "image.sh"), "--tag", tag], cwd=ROOT, env=podman_env(),
                          capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    assert done.returncode == 0, f"scripts/image.sh failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    print(done.stdout.strip().splitlines()[-1])  # the size and the build times, shown with -s
    return tag


@pytest.fixture
def deployment(stack_settings: Settings) -> Iterator[Settings]:
    """This test's own topics and schema; the schema is left empty for the container's `migrate`."""
    from store.migrate import drop_schema
    from streams.topics import delete_topics, ensure_topics

    tag = uuid.uuid4().hex[:10]
    settings = stack_settings.model_copy(update={"topic_prefix": f"t{tag}.", "database_schema": f"t_{tag}"})
    ensure_topics(settings.kafka_bootstrap_servers, settings.topic_prefix)
    yield settings
    drop_schema(settings)
    delete_topics(settings.kafka_bootstrap_servers, settings.topic_prefix)


class Containers:
    """Containers of one test, removed at the end; each runs like a locked-down Kubernetes pod."""

    def __init__(self, image: str, settings: Settings) -> None:
        self.image, self.names = image, []
        self.env = {**settings_env(settings), "GAMEMETRICS_STATE_DIR": "/var/lib/gamemetrics",
                    "GAMEMETRICS_GRAPHQL_JWT_SECRET": JWT_SECRET, "GAMEMETRICS_LOG_FORMAT": "json"}

    def args(self, name: str, env: dict[str, str]) -> list[str]:
        flags = ["--name", name, "--network", "host", "--read-only", "--tmpfs", "/tmp:rw,U", "--tmpfs", "/var/lib/gamemetrics:rw,U",
                 "--cap-drop", "ALL", "--security-opt", "no-new-privileges"]
        for key, value in {**self.env, **env}.items():
            flags += ["-e", f"{key}={value}"]
        return flags

    def run_once(self, *command: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        name = f"gm-test-{uuid.uuid4().hex[:8]}"
        return subprocess.run([*podman(), "run", "--rm", *self.args(name, env or {}), self.image, *command],
                              env=podman_env(), capture_output=True, text=True, timeout=300)

    def start(self, role: str, env: dict[str, str] | None = None) -> str:
        name = f"gm-test-{role}-{uuid.uuid4().hex[:8]}"
        subprocess.run([*podman(), "run", "-d", *self.args(name, env or {}), self.image, role],
                       env=podman_env(), check=True, capture_output=True, timeout=120)
        self.names.append(name)
        return name

    def logs(self, name: str) -> str:
        done = subprocess.run([*podman(), "logs", name], env=podman_env(), capture_output=True, text=True, timeout=60)
        return (done.stdout + done.stderr)[-3000:]

    def healthy(self, name: str) -> bool:
        return subprocess.run([*podman(), "healthcheck", "run", name], env=podman_env(), capture_output=True,
                              timeout=60).returncode == 0

    def remove(self) -> None:
        for name in self.names:
            subprocess.run([*podman(), "rm", "-f", "-t", "10", name], env=podman_env(), capture_output=True, timeout=120)


def wait_http(url: str, containers: Containers, name: str, timeout_s: float = 120) -> None:
    def ready() -> bool:
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False
    try:
        wait_for(ready, timeout_s=timeout_s, what=url)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; {name} logs:\n{containers.logs(name)}") from None


def test_the_image_is_non_root_and_carries_the_native_codec(image):
    info = json.loads(subprocess.run([*podman(), "image", "inspect", image], env=podman_env(), capture_output=True,
                                     text=True, check=True).stdout)[0]
    assert info["Config"]["User"] == "10001:10001"
    assert (info.get("HealthCheck") or info["Healthcheck"])["Test"][:2] == ["CMD", "/opt/gamemetrics/bin/python"]  # kept: built in docker format
    assert info["Config"]["Labels"]["org.opencontainers.image.licenses"] == "Apache-2.0"
    done = subprocess.run([*podman(), "run", "--rm", "--network", "host", "--entrypoint", "/opt/gamemetrics/bin/python",
                           image, "-c", "import schemas.wire as w, shutil; print(w.NATIVE, shutil.which('pip'), shutil.which('gcc'))"],
                          env=podman_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "None", "None"]  # the Rust codec; no installer, no compiler


def test_posted_events_land_through_the_containers_and_are_queryable(image, deployment):
    containers = Containers(image, deployment)
    try:
        migrated = containers.run_once("migrate")
        assert migrated.returncode == 0, migrated.stderr[-3000:]
        assert f"schema {deployment.database_schema} migrated to head" in migrated.stdout
        with db.connect(deployment) as conn:
            game = create_game(conn, f"Image test {uuid.uuid4().hex[:6]}")

        ingest_port, api_port, metrics_port = free_port(), free_port(), free_port()
        ingest = containers.start("ingest", {"PORT": str(ingest_port), "GAMEMETRICS_BIND_HOST": "127.0.0.1"})
        worker = containers.start("worker", {"GAMEMETRICS_WORKER_METRICS_PORT": str(metrics_port),
                                             "GAMEMETRICS_WORKER_METRICS_HOST": "127.0.0.1"})
        graphql = containers.start("graphql", {"PORT": str(api_port), "GAMEMETRICS_BIND_HOST": "127.0.0.1"})
        wait_http(f"http://127.0.0.1:{ingest_port}/readyz", containers, ingest)
        wait_http(f"http://127.0.0.1:{api_port}/healthz", containers, graphql)

        now = int(time.time() * 1000)
        events = [{"event_id": str(uuid.uuid4()), "event_type": "progression", "player_id": f"p{i % 5}",
                   "ts": now - 1000 + i, "session_id": f"s{i % 5}", "platform": "android",
                   "properties": {"level": i, "status": "complete"}} for i in range(40)]
        response = httpx.post(f"http://127.0.0.1:{ingest_port}/v1/events", json={"events": events},
                              headers={"Authorization": f"Bearer {game.api_key}"}, timeout=30)
        assert response.status_code == 200, response.text
        assert response.json() == {"accepted": 40, "rejected": []}

        def landed() -> int:
            with db.connect(deployment) as conn:
                return conn.execute("SELECT count(*) FROM player_events WHERE game_id = %s", (game.game_id,)).fetchone()[0]
        try:
            wait_for(lambda: landed() == 40, timeout_s=120, what="40 events landed by the worker container")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; worker logs:\n{containers.logs(worker)}") from None

        token = issue_token(GraphQLSettings(jwt_secret=JWT_SECRET), "analyst", [game.game_id], timedelta(hours=1))
        start = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
        query = ("query($g: String!, $f: DateTime!, $t: DateTime!) "
                 "{ eventCounts(gameId: $g, from: $f, to: $t, bucket: HOUR) { total } }")
        variables = {"g": game.game_id, "f": start.isoformat(), "t": (start + timedelta(hours=3)).isoformat()}

        def counted() -> int:
            answer = httpx.post(f"http://127.0.0.1:{api_port}/graphql", json={"query": query, "variables": variables},
                                headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
            assert "errors" not in answer, answer
            return answer["data"]["eventCounts"]["total"]
        wait_for(lambda: counted() == 40, timeout_s=60, what="the GraphQL container to count the 40 events")

        metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
        assert "gamemetrics_landed_events_total 40.0" in metrics
        assert containers.healthy(ingest) and containers.healthy(graphql) and containers.healthy(worker)
    finally:
        containers.remove()


def test_the_default_command_prints_the_help(image):
    done = subprocess.run([*podman(), "run", "--rm", "--network", "host", image], env=podman_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for command in ("serve", "worker", "migrate", "dlq"):
        assert command in done.stdout


def test_syft_writes_an_sbom_naming_the_project_and_its_native_codec(image, tmp_path):
    from tests.deploy.tools import tool

    syft = tool("syft")
    archive = tmp_path / "image.tar"
    subprocess.run([*podman(), "save", "--quiet", "--format", "docker-archive", "-o", str(archive), image],
                   env=podman_env(), check=True, timeout=600)
    sbom = tmp_path / "sbom.spdx.json"
    done = subprocess.run([syft, "scan", "-q", f"docker-archive:{archive}", "-o", f"spdx-json={sbom}"],
                          env={**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false"}, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    names = {package["name"] for package in json.loads(sbom.read_text())["packages"]}
    assert {"gamemetrics", "gamemetrics-avro", "faust-streaming", "confluent-kafka"} <= names
