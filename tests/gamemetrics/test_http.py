"""/healthz, /readyz and /metrics (gamemetrics.http), written once and served by every HTTP service.

The readiness shape on its own, then each service's real app (its lifespan run, on the local
stack) with its dependency up and down: the ingest's Kafka, the recommender's vector store, the
GraphQL API's PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from gamemetrics.exposition import MetricsExposition
from gamemetrics.http import add_health_routes
from gamemetrics.readiness import Readiness, probe
from gamemetrics.settings import Settings, TokenSettings

DOWN = "127.0.0.1:9"  # discard port: nothing listens


def test_readiness_is_ready_only_when_every_check_is_ok_and_details_never_gate():
    assert Readiness({"kafka": "ok"}, {"live_caught_up": False}).body() == {
        "status": "ok", "kafka": "ok", "live_caught_up": False}
    down = Readiness({"postgres": "ok", "kafka": "unreachable"})
    assert not down.ready
    assert down.body() == {"status": "unavailable", "postgres": "ok", "kafka": "unreachable"}


def test_probe_gives_the_reason_of_a_failed_or_silent_check_redacted():
    async def ok() -> None:
        return None

    async def refuses() -> None:
        raise ConnectionError("connect to postgresql://app:hunter2@db:5432/x refused")

    async def silent() -> None:
        await asyncio.sleep(5)

    assert asyncio.run(probe(ok)) == "ok"
    reason = asyncio.run(probe(refuses))
    assert "refused" in reason and "hunter2" not in reason
    assert asyncio.run(probe(silent, timeout_s=0.05)) == "no answer within 0.05 s"


def test_the_routes_answer_the_readiness_and_run_the_hook_before_a_scrape():
    scrapes: list[int] = []
    state = {"ready": True}

    async def readiness() -> Readiness:
        return Readiness({"thing": "ok" if state["ready"] else "gone"})

    app = FastAPI()
    add_health_routes(app, readiness, MetricsExposition(), before_scrape=lambda: scrapes.append(1))
    with TestClient(app) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/readyz").json() == {"status": "ok", "thing": "ok"}
        state["ready"] = False
        response = client.get("/readyz")
        assert (response.status_code, response.json()) == (503, {"status": "unavailable", "thing": "gone"})
        assert client.get("/metrics").headers["content-type"].startswith("text/plain")
        assert scrapes == [1]


# -- every service's app ------------------------------------------------------------------------


def ingest_app(settings: Settings, up: bool, tmp_path: Path) -> tuple[FastAPI, str]:
    from ingest.app import create_app
    from ingest.settings import IngestSettings
    from schemas.wire import plain_codec

    if not up:
        settings = settings.model_copy(update={"kafka_bootstrap_servers": DOWN})
    return create_app(settings, IngestSettings(), plain_codec(settings.avro_codec)), "kafka"


def recommender_app(settings: Settings, up: bool, tmp_path: Path) -> tuple[FastAPI, str]:
    from recommender.app import create_app
    from recommender.settings import RecommenderSettings

    settings = settings.model_copy(update={"qdrant_url": "" if up else f"http://{DOWN}", "state_dir": tmp_path})
    tokens = TokenSettings(jwt_secret="test-secret-test-secret-test-secret-0123")
    return create_app(settings, RecommenderSettings(fold_in_in_api="off"), tokens), "qdrant"


def graphql_app(settings: Settings, up: bool, tmp_path: Path) -> tuple[FastAPI, str]:
    from graphql_api.app import create_app
    from graphql_api.settings import GraphQLSettings

    if not up:
        settings = settings.model_copy(update={"database_url": f"postgresql://gamemetrics@{DOWN}/gamemetrics"})
    return create_app(settings, GraphQLSettings(jwt_secret="x" * 64, live_enabled=False)), "postgres"


SERVICES: dict[str, tuple[Callable[[Settings, bool, Path], tuple[FastAPI, str]], str]] = {
    "ingest": (ingest_app, "gamemetrics_ingest_requests"),
    "recommender": (recommender_app, "gamemetrics_recommender_requests"),
    "graphql": (graphql_app, "gamemetrics_graphql_operations"),
}


@pytest.mark.integration
@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_service_answers_health_readiness_and_metrics(service, isolated, tmp_path):
    make, family = SERVICES[service]
    app, dependency = make(isolated, True, tmp_path)
    with TestClient(app) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["status"] == "ok" and ready.json()[dependency] == "ok"
        metrics = client.get("/metrics")
        assert metrics.headers["content-type"].startswith("text/plain")
        assert family in {f.name for f in text_string_to_metric_families(metrics.text)}


@pytest.mark.integration
@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_service_is_unready_while_its_dependency_is_down(service, isolated, tmp_path):
    make, _ = SERVICES[service]
    app, dependency = make(isolated, False, tmp_path)
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503, ready.text
        assert ready.json()["status"] == "unavailable"
        assert ready.json()[dependency] not in ("ok", "")
