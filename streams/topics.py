"""Every topic of the pipeline, declared once: name, partitions, retention, cleanup, value schema.

These are the local defaults of the architecture (docs/architecture/index.md); production values
live in ``helm/``. The local stack creates them with :func:`ensure_topics`; the Faust app and the
producers refer to them by :class:`TopicSpec`, never by a string literal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from streams.errors import KafkaAdminError

DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    value_schema: str
    retention_ms: int
    cleanup_policy: str = "delete"
    replication_factor: int = 1

    def config(self) -> dict[str, str]:
        return {"retention.ms": str(self.retention_ms), "cleanup.policy": self.cleanup_policy}


RAW_EVENTS = TopicSpec("player.events.raw", 6, "EventBatch", 7 * DAY_MS)
PROCESSED_EVENTS = TopicSpec("player.events.processed", 6, "ProcessedEventBatch", 3 * DAY_MS)
RECOMMENDATIONS = TopicSpec("recommendations.generated", 6, "Recommendations", 3 * DAY_MS)
NOTIFICATIONS = TopicSpec("notifications", 3, "Notification", 7 * DAY_MS)
DLQ = TopicSpec("system.dlq", 1, "DeadLetter", 30 * DAY_MS)

# Header on player.events.processed messages: consumers that only care about some games (the
# notification rules) skip the others without decoding them.
GAME_ID_HEADER = "game_id"

ALL_TOPICS: tuple[TopicSpec, ...] = (RAW_EVENTS, PROCESSED_EVENTS, RECOMMENDATIONS, NOTIFICATIONS, DLQ)


def ensure_topics(bootstrap_servers: str, prefix: str = "", timeout_s: float = 30.0,
                  security: Mapping[str, str] | None = None) -> list[str]:
    """Create the topics that do not exist yet (idempotent); returns the names created.
    ``security``: ``Settings.kafka_security()`` on a secured cluster (the admin principal)."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap_servers, **(security or {})})
    try:
        existing = set(admin.list_topics(timeout=timeout_s).topics)
    except KafkaException as exc:
        raise KafkaAdminError(f"Kafka at {bootstrap_servers} did not answer a metadata request: {exc}") from exc
    wanted = [
        NewTopic(prefix + spec.name, spec.partitions, spec.replication_factor, config=spec.config())
        for spec in ALL_TOPICS
        if prefix + spec.name not in existing
    ]
    if not wanted:
        return []
    created = []
    for name, future in admin.create_topics(wanted, operation_timeout=timeout_s).items():
        try:
            future.result(timeout=timeout_s)
            created.append(name)
        except KafkaException as exc:
            if exc.args[0].name() != "TOPIC_ALREADY_EXISTS":
                raise KafkaAdminError(f"creating topic {name} on {bootstrap_servers} failed: {exc}") from exc
    return created


def delete_topics(bootstrap_servers: str, prefix: str, timeout_s: float = 30.0,
                  security: Mapping[str, str] | None = None) -> None:
    """Delete this prefix's topics (used by tests to clean up after themselves)."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap_servers, **(security or {})})
    names = [prefix + spec.name for spec in ALL_TOPICS]
    for future in admin.delete_topics(names, operation_timeout=timeout_s).values():
        try:
            future.result(timeout=timeout_s)
        except Exception:  # already gone: nothing to clean
            pass
