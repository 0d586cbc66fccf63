"""``python -m graphql_api tokens create`` (mounted as ``gamemetrics tokens create``)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from gamemetrics.envvars import settings_env
from gamemetrics.settings import Settings, load_settings
from graphql_api.auth import verify_token
from tests.graphql_api.conftest import GQL, TEST_SECRET


def tokens_create(*args: str, settings: Settings | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **settings_env(settings or load_settings()), "GAMEMETRICS_GRAPHQL_JWT_SECRET": TEST_SECRET}
    return subprocess.run([sys.executable, "-m", "graphql_api", "tokens", "create", *args], env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.integration
def test_tokens_create_prints_a_token_the_api_accepts(isolated):
    done = tokens_create("--role", "admin", "--games", "g2,g1", "--ttl", "2h", "--subject", "ops-oncall", settings=isolated)
    assert done.returncode == 0, done.stderr
    principal = verify_token(GQL, done.stdout.strip())
    assert (principal.subject, principal.role, principal.games) == ("ops-oncall", "admin", frozenset({"g1", "g2"}))
    assert abs(principal.expires_at - (datetime.now(timezone.utc) + timedelta(hours=2))) < timedelta(minutes=1)
    assert "admin token for g1, g2, valid 2:00:00" in done.stderr
    assert "no game g1, g2 in the store" in done.stderr  # typos are pointed out when the store is reachable


def test_tokens_create_refuses_bad_arguments_with_the_reason():
    bad_role = tokens_create("--role", "owner", "--games", "g1")
    assert bad_role.returncode == 2 and "role 'owner' is not one of analyst, admin" in bad_role.stderr
    bad_ttl = tokens_create("--games", "g1", "--ttl", "forever")
    assert bad_ttl.returncode == 2
    assert "'forever' is not a duration: write 90s, 15m, 24h or 7d" in " ".join(re.sub("[│╭╮╰╯─]", " ", bad_ttl.stderr).split())
    assert bad_role.stdout == bad_ttl.stdout == ""
