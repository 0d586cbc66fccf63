"""Errors of the ingest service, each mapped to one HTTP status by ``ingest.app``.

    IngestError (GameMetricsError)
    ├── EnvelopeError        the request as a whole is malformed      -> 400
    ├── AuthError            missing or unknown API key               -> 401
    └── KafkaUnavailable     Kafka did not acknowledge in time        -> 503 + Retry-After
"""

from gamemetrics.errors import GameMetricsError


class IngestError(GameMetricsError):
    """Base class of ingest errors."""


class EnvelopeError(IngestError):
    """The request body is not a JSON object with an ``events`` list."""


class AuthError(IngestError):
    """No API key, or a key no game owns."""


class KafkaUnavailable(IngestError):
    """Kafka did not acknowledge every message of the request."""
