"""Tracing of the GraphQL API (graphql_api/app.py, schema.py): with a ``Tracing`` the request's server
span joins the caller's trace and Strawberry's operation and resolver spans hang under it; player ids
stay out of the span attributes."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from gamemetrics.tracing import Tracing
from graphql_api.app import create_app
from tests.graphql_api.conftest import GQL, bearer
from tests.helpers import new_key

pytestmark = pytest.mark.integration

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


def test_a_query_is_a_server_span_in_the_callers_trace_with_its_resolvers_under_it(isolated, token):
    game_id, _ = new_key(isolated)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    query = '{ games { gameId } player(gameId: "%s", playerId: "ana") { playerId } }' % game_id
    with TestClient(create_app(isolated, GQL, tracing=Tracing(provider))) as client:
        response = client.post("/graphql", json={"query": query}, headers={
            **bearer(token("analyst", [game_id])), "traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"})
        assert response.status_code == 200 and "errors" not in response.json(), response.text
        assert client.get("/healthz").status_code == 200
    spans = exporter.get_finished_spans()
    by_name = {s.name: s for s in spans}
    [server] = [s for s in spans if s.kind == SpanKind.SERVER and s.parent is not None and s.parent.is_remote]
    assert server.name == "POST /graphql"
    assert f"{server.context.trace_id:032x}" == CALLER_TRACE and f"{server.parent.span_id:016x}" == CALLER_SPAN
    operation = by_name["GraphQL Query"]
    assert operation.parent.span_id == server.context.span_id
    games, player = by_name["GraphQL Resolving: games"], by_name["GraphQL Resolving: player"]
    assert games.parent.span_id == operation.context.span_id and player.parent.span_id == operation.context.span_id
    assert player.attributes["graphql.param.gameId"] == game_id
    assert not [key for key in player.attributes if "player" in key.lower()]  # no player id in a trace
    assert not [s for s in spans if "healthz" in s.name or s.attributes.get("url.path") == "/healthz"]

