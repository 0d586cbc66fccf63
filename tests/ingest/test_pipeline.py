"""The ingest request pipeline's pure parts (ingest.pipeline), without an HTTP client."""

from __future__ import annotations

import pytest

from ingest.errors import AuthError
from ingest.pipeline import api_key


@pytest.mark.parametrize(("authorization", "x_api_key", "query", "expected"), [
    ("Bearer  k-bearer ", "k-header", "k-query", "k-bearer"),  # the bearer first, trimmed
    ("bearer k-lower", None, None, "k-lower"),  # the scheme is case-insensitive
    ("Basic dXNlcjpwdw==", " k-header ", "k-query", "k-header"),  # another scheme: X-API-Key
    (None, None, " k-query", "k-query"),  # navigator.sendBeacon sets no header: the query
    ("Bearer ", "", "k-query", "k-query"),  # an empty bearer is no key
])
def test_the_api_key_is_taken_from_the_bearer_then_the_header_then_the_query(authorization, x_api_key, query, expected):
    assert api_key(authorization, x_api_key, query) == expected


def test_a_request_without_a_key_is_refused_with_401_saying_how_to_send_one():
    with pytest.raises(AuthError) as refused:
        api_key(None, " ", None)
    assert refused.value.status == 401
    assert "Authorization: Bearer" in str(refused.value) and "X-API-Key" in str(refused.value)
