"""Errors of the ingest service. Each carries its HTTP status; ``ingest.app`` turns any of them
into ``{"error": "<message>"}`` with that status (and Retry-After where one is set).

    IngestError (GameMetricsError)
    ├── EnvelopeError           400  the request as a whole is malformed
    ├── AuthError               401  missing, unknown or expired API key
    ├── PayloadTooLarge         413  body or batch over the configured limits
    ├── UnsupportedMediaType    415  not JSON, or an encoding other than gzip
    ├── RateLimited             429  the game's event budget is spent (Retry-After)
    ├── KafkaUnavailable        503  Kafka did not acknowledge in time (Retry-After)
    └── KeyStoreUnavailable     503  PostgreSQL is down and the API key is not cached (Retry-After)
"""

from __future__ import annotations

from gamemetrics.errors import GameMetricsError


class IngestError(GameMetricsError):
    status = 500

    def __init__(self, message: str, retry_after_s: int | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class EnvelopeError(IngestError):
    status = 400


class AuthError(IngestError):
    status = 401


class PayloadTooLarge(IngestError):
    status = 413


class UnsupportedMediaType(IngestError):
    status = 415


class RateLimited(IngestError):
    status = 429


class KafkaUnavailable(IngestError):
    status = 503


class KeyStoreUnavailable(IngestError):
    status = 503
