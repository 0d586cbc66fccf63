"""Fixtures of the GraphQL API tests: tokens, an in-process client, a real API server process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from gamemetrics.envvars import settings_env
from gamemetrics.settings import Settings
from graphql_api.app import create_app
from graphql_api.auth import issue_token
from graphql_api.settings import GraphQLSettings
from gamemetrics.store import db
from tests.graphql_api.dataset import insert_fixed
from tests.services import READY_TIMEOUT_S, free_port

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
    """A real API server process (``python -m graphql_api serve``); yields its base URL."""
    port = free_port()
    env = {**os.environ, **settings_env(settings), "GAMEMETRICS_GRAPHQL_JWT_SECRET": TEST_SECRET, **(extra_env or {})}
    log = log_dir / "graphql.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "graphql_api", "serve", "--port", str(port)], env=env, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the API exited with {proc.returncode}: {log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/readyz", timeout=1).json().get("live_caught_up"):
                    break
            except (httpx.HTTPError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the API did not become ready in time: {log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture(scope="module")
def client(isolated_module) -> Iterator[TestClient]:
    """An in-process API client over the module's schema, loaded with the fixed data set."""
    with db.connect(isolated_module) as conn:
        insert_fixed(conn)
        conn.commit()
    with api_client(isolated_module) as c:
        yield c
