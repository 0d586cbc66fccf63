"""The base of the project's errors; each package's ``errors.py`` hangs its own below it.

    GameMetricsError              base of every error this project raises on purpose
    ├── store.errors.StoreError           the database refused or could not be reached
    ├── streams.errors.StreamsError       Kafka did not acknowledge, or could not be reached
    ├── schemas.errors.SchemaError        bytes or schemas we cannot use
    ├── operations.errors.StackError      a local service could not be installed or started
    ├── TokenError                        bearer tokens (gamemetrics.tokens), see below
    └── TracingConfigError                OTEL_* variables asking for tracing we cannot set up

Third-party errors are translated at the boundary with ``raise ... from exc`` so callers catch
ours, and the message says what failed, where, and what to do next.
"""


class GameMetricsError(Exception):
    """Base class of the project's errors."""


class TokenError(GameMetricsError):
    """A bearer token (``gamemetrics.tokens``) could not be issued, verified or used.

    TokenError
    ├── TokenRejected      no token, or a malformed, forged, foreign or expired one (HTTP 401)
    ├── TokenNotPermitted  a valid token whose role or games do not cover the request (HTTP 403)
    └── TokenRequestError  a bad request to issue one: unknown role, empty games, too long a lifetime

    Each API translates them into its own errors at its boundary (graphql_api: UNAUTHENTICATED,
    FORBIDDEN, BAD_USER_INPUT; the recommender API: 401, 403).
    """


class TokenRejected(TokenError):
    """No usable token: missing, malformed, forged, for another API, or expired."""


class TokenNotPermitted(TokenError):
    """A valid token whose role or games do not cover what was asked."""


class TokenRequestError(TokenError):
    """A token cannot be issued as asked (role, games, lifetime)."""


class TracingConfigError(GameMetricsError):
    """The OTEL_* variables ask for tracing this installation cannot do (an unknown exporter, the OTLP
    gRPC transport); raised at start-up by ``gamemetrics.tracing.configure_tracing``."""
