"""`gamemetrics tokens list` and `tokens revoke`, and a revoked token refused by the running API
(store/tokens.py, gamemetrics/tokens.py RevokedTokens)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest

from gamemetrics.envvars import settings_env
from gamemetrics.tokens import RevokedTokens
from graphql_api.auth import issue_token, verify_token
from graphql_api.errors import Unauthenticated
from store import db
from store.tokens import record_issued, revoke, revoked_ids
from tests.graphql_api.conftest import GQL, TEST_SECRET, api_client, bearer


def test_a_token_whose_id_is_revoked_is_refused_with_how_to_get_a_new_one():
    token = issue_token(GQL, "analyst", ["g1"], timedelta(hours=1))
    principal = verify_token(GQL, token)
    assert verify_token(GQL, token, revoked=RevokedTokens({"another"})).token_id == principal.token_id
    with pytest.raises(Unauthenticated, match=f"token {principal.token_id} was revoked .*gamemetrics tokens create"):
        verify_token(GQL, token, revoked=RevokedTokens({principal.token_id}))


def gm(settings, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **settings_env(settings), "GAMEMETRICS_GRAPHQL_JWT_SECRET": TEST_SECRET}
    return subprocess.run([sys.executable, "-m", "operations", *args], env=env, capture_output=True, text=True,
                          timeout=60)


@pytest.mark.integration
def test_tokens_are_listed_revoked_and_the_revocation_is_audited(isolated):
    created = gm(isolated, "tokens", "create", "--game", "g1", "--ttl", "2h", "--subject", "contractor")
    assert created.returncode == 0, created.stderr
    token_id = verify_token(GQL, created.stdout.strip()).token_id

    [listed] = [json.loads(line) for line in gm(isolated, "tokens", "list").stdout.splitlines()]
    assert (listed["token_id"], listed["subject"], listed["games"], listed["state"]) == (token_id, "contractor", ["g1"], "valid")

    revoked = gm(isolated, "tokens", "revoke", token_id)
    assert revoked.returncode == 0, revoked.stderr
    assert json.loads(revoked.stdout)["state"] == "revoked"
    assert gm(isolated, "tokens", "revoke", token_id).returncode == 0  # idempotent
    assert gm(isolated, "tokens", "list").stdout == ""  # only valid tokens by default
    [everything] = [json.loads(line) for line in gm(isolated, "tokens", "list", "--all").stdout.splitlines()]
    assert everything["state"] == "revoked"
    with db.connect(isolated) as conn:
        assert revoked_ids(conn) == {token_id}
        actions = [r[0] for r in conn.execute("SELECT action FROM audit_log ORDER BY seq").fetchall()]
    assert actions == ["tokens.create", "tokens.revoke"]

    unknown = gm(isolated, "tokens", "revoke", "no-such-token")
    assert unknown.returncode == 1 and "no token 'no-such-token' was issued" in unknown.stderr


@pytest.mark.integration
def test_the_running_api_refuses_a_token_once_it_is_revoked(isolated):
    gql = GQL.model_copy(update={"revocation_refresh_s": 0.2})
    token = issue_token(gql, "analyst", ["*"], timedelta(hours=1), subject="leaked")
    principal = verify_token(gql, token)
    with db.connect(isolated, autocommit=True) as conn:
        record_issued(conn, isolated, "pytest", principal.token_id, "analyst", ["*"], "leaked", principal.expires_at)
    query = {"query": "{ me { subject } }"}
    with api_client(isolated, gql) as client:
        assert client.post("/graphql", json=query, headers=bearer(token)).json()["data"]["me"]["subject"] == "leaked"
        with db.connect(isolated, autocommit=True) as conn:
            revoke(conn, isolated, "pytest", principal.token_id)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            answer = client.post("/graphql", json=query, headers=bearer(token)).json()
            if answer.get("errors"):
                break
            time.sleep(0.1)
        assert "was revoked" in answer["errors"][0]["message"], answer
        other = issue_token(gql, "analyst", ["*"], timedelta(hours=1))
        assert client.post("/graphql", json=query, headers=bearer(other)).json()["data"]["me"]
