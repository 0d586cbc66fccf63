"""Bearer tokens (``graphql_api/auth.py``) and who may run what over HTTP: no token, a bad token,
the wrong role, the wrong game. (The same matrix over WebSockets is in ``test_subscriptions.py``.)"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import jwt
import pytest
from fastapi.testclient import TestClient

from graphql_api.auth import issue_token, parse_games, parse_ttl, verify_token
from graphql_api.errors import BadArgument, Forbidden, Unauthenticated
from tests.graphql_api.conftest import GQL, TEST_SECRET, bearer
from tests.graphql_api.dataset import ALPHA, BETA

# -- tokens ------------------------------------------------------------------------------------


def test_a_token_carries_its_role_games_and_expiry():
    now = datetime(2026, 11, 22, 10, 0, tzinfo=timezone.utc)
    token = issue_token(GQL, "admin", ["g2", "g1"], timedelta(hours=24), subject="ops", now=now)
    principal = verify_token(GQL, token, now=now + timedelta(hours=23))
    assert (principal.subject, principal.role, principal.games) == ("ops", "admin", frozenset({"g1", "g2"}))
    assert principal.expires_at == now + timedelta(hours=24)
    assert principal.may_read("g1") and not principal.may_read("g3")


def test_an_expired_token_is_refused_with_how_to_get_a_new_one():
    now = datetime(2026, 11, 22, 10, 0, tzinfo=timezone.utc)
    token = issue_token(GQL, "analyst", ["g1"], timedelta(minutes=30), now=now)
    with pytest.raises(Unauthenticated, match="token expired; create one with `gamemetrics tokens create"):
        verify_token(GQL, token, now=now + timedelta(hours=1))
    with pytest.raises(Unauthenticated, match="issued in the future"):
        verify_token(GQL, token, now=now - timedelta(hours=1))


@pytest.mark.parametrize(("token", "message"), [
    ("not.a.jwt", "malformed token"),
    (jwt.encode({"sub": "x"}, "another-secret-another-secret-another", algorithm="HS256"), "signature does not verify"),
    (jwt.encode({"iss": "gamemetrics", "aud": "someone-else", "sub": "x", "iat": 0, "exp": 4102444800, "role": "admin",
                 "games": ["*"]}, TEST_SECRET, algorithm="HS256"), "token is not for this API"),
    (jwt.encode({"iss": "gamemetrics", "aud": "gamemetrics-graphql", "sub": "x", "iat": 0, "exp": 4102444800,
                 "role": "viewer", "games": ["g1"]}, TEST_SECRET, algorithm="HS256"), "role 'viewer' is not one of analyst, admin"),
    (jwt.encode({"iss": "gamemetrics", "aud": "gamemetrics-graphql", "sub": "x", "iat": 0, "exp": 4102444800,
                 "role": "analyst", "games": []}, TEST_SECRET, algorithm="HS256"), "`games` claim must be a non-empty list"),
    (jwt.encode({"iss": "gamemetrics", "aud": "gamemetrics-graphql", "sub": "x", "iat": 0, "exp": 4102444800,
                 "role": "analyst", "games": ["g1"]}, TEST_SECRET, algorithm="HS512"), "malformed token"),
])
def test_forged_or_foreign_tokens_are_refused(token, message):
    with pytest.raises(Unauthenticated, match=message):
        verify_token(GQL, token)


def test_scope_checks_name_the_game_and_the_role():
    analyst = verify_token(GQL, issue_token(GQL, "analyst", ["g1"], timedelta(hours=1)))
    with pytest.raises(Forbidden, match=r"game 'g2' is not among this token's games \(g1\)"):
        analyst.require_game("g2")
    with pytest.raises(Forbidden, match="rotateApiKey needs the admin role; this token's role is analyst"):
        analyst.require_admin("rotateApiKey", "g1")
    scoped_admin = verify_token(GQL, issue_token(GQL, "admin", ["g1"], timedelta(hours=1)))
    scoped_admin.require_admin("rotateApiKey", "g1")
    with pytest.raises(Forbidden, match=r"createGame affects every game; it needs an admin token for all games"):
        scoped_admin.require_admin("createGame")


@pytest.mark.parametrize(("text", "expected"), [("90s", 90), ("15m", 900), ("24h", 86400), ("7d", 604800), ("2w", 1209600)])
def test_ttl_parses_units(text, expected):
    assert parse_ttl(text) == timedelta(seconds=expected)


@pytest.mark.parametrize("text", ["", "0h", "1y", "-1h", "soon"])
def test_a_bad_ttl_says_what_is_expected(text):
    with pytest.raises(BadArgument, match="is not a positive duration like 30m, 24h or 7d"):
        parse_ttl(text)


def test_games_list_and_wildcard():
    assert parse_games(" g2, g1 ,g2") == ["g1", "g2"]
    assert parse_games("*") == ["*"]
    with pytest.raises(BadArgument, match="'\\*' already means every game"):
        parse_games("*,g1")
    with pytest.raises(BadArgument, match="games is empty"):
        parse_games(" , ")


def test_a_ttl_over_the_maximum_is_refused():
    with pytest.raises(BadArgument, match="longer than the 90 days, 0:00:00 allowed"):
        issue_token(GQL, "analyst", ["g1"], timedelta(days=365))


# -- the matrix over HTTP ---------------------------------------------------------------------




ROOT_FIELDS = {
    "eventCounts": 'eventCounts(gameId: $g, from: "2026-09-07T00:00:00Z", to: "2026-09-08T00:00:00Z") { total }',
    "activeUsers": 'activeUsers(gameId: $g, from: "2026-09-07", to: "2026-09-08") { points { activeUsers } }',
    "retention": 'retention(gameId: $g, cohortFrom: "2026-09-07", cohortTo: "2026-09-08") { cohorts { players } }',
    "funnel": 'funnel(gameId: $g, steps: [{eventType: "a"}, {eventType: "b"}], from: "2026-09-07T00:00:00Z", '
              'to: "2026-09-08T00:00:00Z") { steps { players } }',
    "revenue": 'revenue(gameId: $g, from: "2026-09-07", to: "2026-09-08") { total { revenueUsd } }',
    "sessions": 'sessions(gameId: $g, from: "2026-09-07T00:00:00Z", to: "2026-09-08T00:00:00Z") { count }',
    "fairness": 'fairness(gameId: $g, from: "2026-09-07T00:00:00Z", to: "2026-09-08T00:00:00Z") { modes { mode } }',
    "player": 'player(gameId: $g, playerId: "b1") { events }',
}


def run(client: TestClient, field: str, game: str, headers: dict[str, str]):
    query = f"query($g: String!) {{ {ROOT_FIELDS[field]} }}"
    return client.post("/graphql", json={"query": query, "variables": {"g": game}}, headers=headers)


@pytest.mark.integration
@pytest.mark.parametrize("field", sorted(ROOT_FIELDS))
def test_every_game_query_refuses_a_game_outside_the_token(client, token, field):
    response = run(client, field, BETA, bearer(token("analyst", [ALPHA])))
    body = response.json()
    assert body["data"] in (None, {"player": None})  # `player` is nullable
    assert body["errors"][0]["message"].startswith(f"game '{BETA}' is not among this token's games ({ALPHA})")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert run(client, field, ALPHA, bearer(token("analyst", [ALPHA]))).json().get("errors") is None


@pytest.mark.integration
@pytest.mark.parametrize(("headers", "message"), [
    ({}, "missing token: send `Authorization: Bearer <token>`"),
    ({"Authorization": "Basic dXNlcjpwYXNz"}, "the Authorization value must be `Bearer <token>`"),
    ({"Authorization": "Bearer garbage"}, "malformed token"),
    ({"Authorization": "Bearer " + jwt.encode({"sub": "x"}, "some-other-secret-some-other-secret", algorithm="HS256")},
     "signature does not verify"),
])
def test_no_valid_token_is_401_with_the_reason_and_no_data(client, headers, message):
    response = client.post("/graphql", json={"query": "{ games { gameId } }"}, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["data"] is None and len(body["errors"]) == 1
    assert message in body["errors"][0]["message"]
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.integration
def test_an_expired_token_is_401(client):
    expired = issue_token(GQL, "analyst", [ALPHA], timedelta(minutes=1), now=datetime.now(timezone.utc) - timedelta(hours=2))
    response = client.post("/graphql", json={"query": "{ me { role } }"}, headers=bearer(expired))
    assert response.status_code == 401 and "token expired" in response.json()["errors"][0]["message"]


ROTATE = 'mutation($g: String!) { rotateApiKey(gameId: $g, graceHours: 1) { gameId apiKey previousKeysExpireAt } }'


@pytest.mark.integration
def test_admin_mutations_need_the_admin_role_and_the_game(client, token):
    analyst = client.post("/graphql", json={"query": ROTATE, "variables": {"g": ALPHA}}, headers=bearer(token("analyst", [ALPHA])))
    assert analyst.json()["data"] is None
    assert analyst.json()["errors"][0]["message"] == "rotateApiKey needs the admin role; this token's role is analyst"
    other_game = client.post("/graphql", json={"query": ROTATE, "variables": {"g": BETA}}, headers=bearer(token("admin", [ALPHA])))
    assert other_game.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    rotated = client.post("/graphql", json={"query": ROTATE, "variables": {"g": ALPHA}}, headers=bearer(token("admin", [ALPHA])))
    assert rotated.json()["data"]["rotateApiKey"]["gameId"] == ALPHA
    assert rotated.json()["data"]["rotateApiKey"]["apiKey"].startswith("gm_")


@pytest.mark.integration
def test_global_admin_mutations_need_an_all_games_admin(client, token):
    create = 'mutation { createGame(name: "Gamma Golf") { gameId name apiKey } }'
    scoped = client.post("/graphql", json={"query": create}, headers=bearer(token("admin", [ALPHA]))).json()
    assert scoped["data"] is None and "needs an admin token for all games" in scoped["errors"][0]["message"]
    created = client.post("/graphql", json={"query": create}, headers=bearer(token("admin", ["*"]))).json()["data"]["createGame"]
    assert created["name"] == "Gamma Golf" and created["gameId"].startswith("gamma-golf-")
    again = client.post("/graphql", json={"query": create}, headers=bearer(token("admin", ["*"]))).json()
    assert "a game named 'Gamma Golf' already exists" in again["errors"][0]["message"]
    rate = client.post("/graphql", json={"query": 'mutation { setCurrencyRate(currency: "ISK", usdPerUnit: 0.0072) { currency usdPerUnit } }'},
                       headers=bearer(token("admin", ["*"]))).json()
    assert rate["data"] == {"setCurrencyRate": {"currency": "ISK", "usdPerUnit": 0.0072}}
