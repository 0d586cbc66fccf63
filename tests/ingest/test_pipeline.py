"""The ingest request pipeline's pure parts (ingest.pipeline), without an HTTP client."""

from __future__ import annotations

import pytest

from ingest.errors import AuthError
from ingest.pipeline import api_key


@pytest.mark.parametrize(("headers", "query", "expected"), [
    ({"authorization": "Bearer  k-bearer ", "x-api-key": "k-header"}, {"api_key": "k-query"}, "k-bearer"),  # trimmed
    ({"authorization": "bearer k-lower"}, None, "k-lower"),  # the scheme is case-insensitive
    ({"authorization": "Basic dXNlcjpwdw==", "x-api-key": " k-header "}, {"api_key": "k-query"}, "k-header"),
    ({}, {"api_key": " k-query"}, "k-query"),  # navigator.sendBeacon sets no header: the query
    ({"authorization": "Bearer ", "x-api-key": ""}, {"api_key": "k-query"}, "k-query"),  # an empty bearer is no key
])
def test_the_api_key_is_taken_from_the_bearer_then_the_header_then_the_query(headers, query, expected):
    assert api_key(headers, query) == expected


@pytest.mark.parametrize("query", [None, {"api_key": " "}, {"other": "k"}])
def test_a_request_without_a_key_is_refused_with_401_saying_how_to_send_one(query):
    with pytest.raises(AuthError) as refused:
        api_key({"x-api-key": " "}, query)
    assert refused.value.status == 401
    assert "Authorization: Bearer" in str(refused.value) and "X-API-Key" in str(refused.value)
