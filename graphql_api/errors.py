"""Errors of the GraphQL API. Each carries the ``extensions.code`` clients branch on; the schema's
error extension (``graphql_api.limits.ErrorCodes``) adds it to the GraphQL error and masks every
other exception as ``INTERNAL`` (logged with its traceback, never shown).

    ApiError (GameMetricsError)
    ├── Unauthenticated     UNAUTHENTICATED  no token, a malformed, forged or expired one (HTTP 401)
    ├── Forbidden           FORBIDDEN        a valid token whose role or games do not cover the request
    ├── BadArgument         BAD_USER_INPUT   an argument out of range: reversed times, too many buckets, ...
    ├── TooExpensive        QUERY_TOO_EXPENSIVE  the operation is deeper or costlier than the configured limits
    └── Unavailable         UNAVAILABLE      PostgreSQL or Kafka did not answer; retry later
"""

from __future__ import annotations

from gamemetrics.errors import GameMetricsError


class ApiError(GameMetricsError):
    code = "INTERNAL"


class Unauthenticated(ApiError):
    code = "UNAUTHENTICATED"


class Forbidden(ApiError):
    code = "FORBIDDEN"


class BadArgument(ApiError):
    code = "BAD_USER_INPUT"


class TooExpensive(ApiError):
    code = "QUERY_TOO_EXPENSIVE"


class Unavailable(ApiError):
    code = "UNAVAILABLE"
