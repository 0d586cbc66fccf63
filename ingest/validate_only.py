"""Validate-only mode: a request that asks for it gets every verdict and nothing is stored.

Asked by the header ``X-GameMetrics-Validate-Only: 1`` (or ``true``) or the query ``?validate_only=1``,
on every ingest endpoint (ours, Segment's and GameAnalytics'): the events are translated and
validated as usual, no rate budget is spent and nothing is produced to Kafka. A studio points its
build at the ingest with the flag set to test its instrumentation.
"""

from __future__ import annotations

from starlette.requests import Request

HEADER = "x-gamemetrics-validate-only"
QUERY = "validate_only"
_YES = frozenset(("1", "true", "yes"))


def wants_validate_only(request: Request) -> bool:
    flag = request.headers.get(HEADER)
    if flag is None and request.scope.get("query_string"):
        flag = request.query_params.get(QUERY)
    return flag is not None and flag.strip().lower() in _YES
