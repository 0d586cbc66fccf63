"""What every operation goes through (``graphql_api/limits.py``): depth and cost limits,
introspection on or off, error codes, and internal errors that say nothing about the internals."""

from __future__ import annotations

import pytest

from tests.graphql_api.conftest import GQL, api_client, bearer

pytestmark = pytest.mark.integration

DEEP = '{ player(gameId: "g", playerId: "p") { recentEvents { edges { node { eventType } } } } }'


def post(client, token, query):
    return client.post("/graphql", json={"query": query}, headers=bearer(token)).json()


def test_a_query_deeper_than_the_limit_is_refused_before_running(isolated, token):
    with api_client(isolated, GQL.model_copy(update={"max_depth": 3})) as client:
        body = post(client, token(), DEEP)
    assert body["data"] is None
    assert "exceeds maximum operation depth of 3" in body["errors"][0]["message"]
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_an_operation_over_the_cost_limit_is_refused_and_fragments_count(isolated, token):
    funnel = ('funnel(gameId: "g", steps: [{eventType: "a"}, {eventType: "b"}], from: "2026-01-01T00:00:00Z", '
              'to: "2026-01-02T00:00:00Z") { steps { players } }')
    aliased = "{ " + " ".join(f"f{i}: {funnel}" for i in range(3)) + " }"  # 3 x 10
    with api_client(isolated, GQL.model_copy(update={"max_cost": 25})) as client:
        body = post(client, token(), aliased)
        assert body["data"] is None
        assert body["errors"][0]["message"].startswith("operation cost 30 is over the limit of 25")
        assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_EXPENSIVE"
        # games (1) + stats (1) + twice, via aliases, player (1) + recentEvents (2) through a fragment = 8
        fragments = ('fragment P on Player { recentEvents { edges { cursor } } } '
                     '{ games { stats { players } } a: player(gameId: "g", playerId: "p") { ...P } '
                     'b: player(gameId: "g", playerId: "q") { ...P } }')
        assert post(client, token(), fragments).get("errors") is None
    with api_client(isolated, GQL.model_copy(update={"max_cost": 7})) as client:
        assert post(client, token(), fragments)["errors"][0]["message"].startswith("operation cost 8 is over the limit of 7")


def test_introspection_can_be_turned_off(isolated, token):
    query = "{ __schema { queryType { name } } }"
    with api_client(isolated) as client:
        assert post(client, token(), query)["data"] == {"__schema": {"queryType": {"name": "Query"}}}
    with api_client(isolated, GQL.model_copy(update={"introspection": False})) as client:
        body = post(client, token(), query)
    assert body["data"] is None and "introspection" in body["errors"][0]["message"].lower()


def test_an_unexpected_failure_is_masked_with_a_reference(stack_settings, token):
    # a schema that was never migrated: PostgreSQL says the table is missing, a bug from the client's side
    unmigrated = stack_settings.model_copy(update={"database_schema": "no_such_schema_for_graphql_tests"})
    with api_client(unmigrated) as client:
        body = post(client, token(), "{ games { gameId } }")
    assert body["data"] is None
    error = body["errors"][0]
    assert error["extensions"] == {"code": "INTERNAL"}
    assert error["message"].startswith("internal error ") and "server log" in error["message"]
    assert "games" not in error["message"] and "relation" not in error["message"]


def test_postgres_down_is_unavailable(stack_settings, token):
    down = stack_settings.model_copy(update={"database_url": "postgresql://gamemetrics@127.0.0.1:9/gamemetrics"})
    with api_client(down) as client:
        body = post(client, token(), "{ games { gameId } }")
        assert client.get("/readyz").status_code == 503
    assert body["errors"][0]["extensions"]["code"] == "UNAVAILABLE"
    assert body["errors"][0]["message"].startswith("PostgreSQL is unavailable; retry later")
