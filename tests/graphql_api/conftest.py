"""Fixtures of the GraphQL API tests: tokens, an in-process client, a real API server process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gamemetrics.settings import Settings
from graphql_api.app import create_app
from graphql_api.auth import issue_token
from graphql_api.settings import GraphQLSettings
from store import db
from tests.graphql_api.dataset import analyze, insert_fixed
from tests.services import running_service

TEST_SECRET = "test-secret-of-the-graphql-api-suite-0123456789-abcdefghijklmnopqrstuvwxyz"
GQL = GraphQLSettings(jwt_secret=TEST_SECRET, live_enabled=False)

Token = Callable[..., str]


@pytest.fixture(scope="session")
def token() -> Token:
    """``token("analyst", ["g1"], ttl=timedelta(hours=1))`` -> a token signed with the suite's secret."""

    def make(role: str = "analyst", games: list[str] | None = None, ttl: timedelta = timedelta(hours=1)) -> str:
        return issue_token(GQL, role, games or ["*"], ttl, subject="pytest")

    return make


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


@contextmanager
def api_client(settings: Settings, gql: GraphQLSettings = GQL) -> Iterator[TestClient]:
    """The app in this process (lifespan run), over the test's isolated schema."""
    with TestClient(create_app(settings, gql)) as client:
        yield client


@contextmanager
def running_api(settings: Settings, log_dir: Path, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """A real API server process (``gamemetrics serve graphql``); yields its base URL once its live view caught up."""
    env = {"GAMEMETRICS_GRAPHQL_JWT_SECRET": TEST_SECRET, **(extra_env or {})}
    with running_service(["serve", "graphql"], settings, log_dir / "graphql.log",
                         lambda r: bool(r.json().get("live_caught_up")), "/readyz", env) as url:
        yield url


@pytest.fixture(scope="module")
def client(isolated_module) -> Iterator[TestClient]:
    """An in-process API client over the module's schema, loaded with the fixed data set."""
    with db.connect(isolated_module) as conn:
        insert_fixed(conn)
        conn.commit()
        analyze(conn)
    with api_client(isolated_module) as c:
        yield c
