"""What every operation goes through (``graphql_api/limits.py``): depth and cost limits,
introspection on or off, error codes, and internal errors that say nothing about the internals."""

from __future__ import annotations

import pytest

from graphql_api.schema import build_schema
from tests.graphql_api.conftest import GQL, api_client, bearer

DEEP = '{ player(gameId: "g", playerId: "p") { recentEvents { edges { node { eventType } } } } }'


def post(client, token, query):
    return client.post("/graphql", json={"query": query}, headers=bearer(token)).json()


@pytest.mark.integration
def test_a_query_deeper_than_the_limit_is_refused_before_running(isolated, token):
    with api_client(isolated, GQL.model_copy(update={"max_depth": 3})) as client:
        body = post(client, token(), DEEP)
    assert body["data"] is None
    assert "exceeds maximum operation depth of 3" in body["errors"][0]["message"]
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


@pytest.mark.integration
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


@pytest.mark.integration
def test_introspection_can_be_turned_off(isolated, token):
    query = "{ __schema { queryType { name } } }"
    with api_client(isolated) as client:
        assert post(client, token(), query)["data"] == {"__schema": {"queryType": {"name": "Query"}}}
    with api_client(isolated, GQL.model_copy(update={"introspection": False})) as client:
        body = post(client, token(), query)
    assert body["data"] is None and "introspection" in body["errors"][0]["message"].lower()


@pytest.mark.integration
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


@pytest.mark.integration
def test_postgres_down_is_unavailable(stack_settings, token):
    down = stack_settings.model_copy(update={"database_url": "postgresql://gamemetrics@127.0.0.1:9/gamemetrics"})
    with api_client(down) as client:
        body = post(client, token(), "{ games { gameId } }")
        assert client.get("/readyz").status_code == 503
    assert body["errors"][0]["extensions"]["code"] == "UNAVAILABLE"
    assert body["errors"][0]["message"].startswith("PostgreSQL is unavailable; retry later")


def doubling_fragments(levels: int) -> str:
    """Each fragment spreads the one before it twice: 2**levels fields once expanded, a few hundred bytes."""
    parts = ["fragment F0 on Query { games { gameId } }"]
    parts += [f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels + 1)]
    return " ".join(parts) + f" {{ ...F{levels} }}"


@pytest.mark.timeout(60)
def test_validation_of_doubling_fragments_is_linear_and_refuses_them():
    # no services: the schema's own validation (cost and depth rules), as every request runs it
    result = build_schema(GQL).execute_sync(doubling_fragments(29))
    assert result.data is None
    assert [e.extensions["code"] for e in result.errors] == ["QUERY_TOO_EXPENSIVE"]


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_nested_fragment_spreads_are_refused_as_too_expensive_not_expanded(isolated, token):
    # 29 levels: 2**29 expanded fields; an expanding cost (or depth) rule never answers this
    query = doubling_fragments(29)
    assert len(query) < 1300
    with api_client(isolated) as client:
        body = post(client, token(), query)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_EXPENSIVE"
    assert "over the limit of 200" in body["errors"][0]["message"]


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_an_unauthenticated_request_is_refused_before_its_query_is_read(isolated):
    with api_client(isolated) as client:
        for query in ("{ this is not ( graphql", doubling_fragments(12)):
            response = client.post("/graphql", json={"query": query})
            assert response.status_code == 401
            assert response.headers["www-authenticate"].startswith("Bearer")
            body = response.json()
            assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
            assert "missing token" in body["errors"][0]["message"]


@pytest.mark.integration
def test_a_query_over_the_byte_or_token_limit_is_refused(isolated, token):
    gql = GQL.model_copy(update={"max_request_bytes": 4096, "max_query_tokens": 200})
    with api_client(isolated, gql) as client:
        large = client.post("/graphql", json={"query": "{ " + "__typename " * 1000 + "}"}, headers=bearer(token()))
        assert large.status_code == 413
        assert large.json()["errors"][0]["message"].startswith("request body is larger than 4096 bytes")
        many_tokens = post(client, token(), "{ " + " ".join(f"a{i}: __typename" for i in range(100)) + " }")
        assert many_tokens["data"] is None
        assert "more than 200 tokens" in many_tokens["errors"][0]["message"]
        assert post(client, token(), "{ __typename }") == {"data": {"__typename": "Query"}}


@pytest.mark.integration
def test_the_operation_log_names_a_bounded_excerpt_of_a_large_query(isolated, token):
    from structlog.testing import capture_logs

    query = "{ " + " ".join(f"alias_number_{i}: __typename" for i in range(1500)) + " }"
    with api_client(isolated, GQL.model_copy(update={"max_query_tokens": 10_000})) as client, capture_logs() as logs:
        assert post(client, token(), query)["data"]["alias_number_1499"] == "Query"
    line = next(e for e in logs if e["event"] == "graphql_operation")
    assert len(repr(line)) < 1000
    assert line["fields_total"] == 1500
