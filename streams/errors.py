"""Errors of the Kafka layer.

    StreamsError (GameMetricsError)
    ├── ProduceError     Kafka did not acknowledge every message (brokers down, timeout, too large)
    └── KafkaAdminError  the brokers did not answer an admin request (metadata, topic creation)

Callers translate them at their boundary: ingest answers 503, processors retry without committing.
"""

from gamemetrics.errors import GameMetricsError


class StreamsError(GameMetricsError):
    """Base class of Kafka-layer errors."""


class ProduceError(StreamsError):
    """Kafka did not acknowledge every message of a send."""


class KafkaAdminError(StreamsError):
    """The brokers did not answer an admin request (metadata, creating or deleting topics)."""
