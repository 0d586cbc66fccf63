"""The Faust application of the landing workers: one app, topics from ``streams.topics``.

Messages stay raw bytes in Faust (``value_serializer="raw"``); the processors decode them with
the project's Avro wire codec, so decoding failures are ours to route to the DLQ instead of
Faust's to log and skip.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import faust

from gamemetrics.settings import Settings
from streams.topics import TopicSpec

APP_ID = "gamemetrics-landing"


@dataclass(frozen=True)
class ConsumerPolicy:
    """When Faust commits the offsets of events the agents have finished (acked)."""

    commit_interval_s: float = 1.0
    commit_every: int = 10_000
    max_poll_records: int = 500


def broker_urls(bootstrap_servers: str) -> list[str]:
    return [f"kafka://{server.strip()}" for server in bootstrap_servers.split(",") if server.strip()]


def create_app(settings: Settings, policy: ConsumerPolicy = ConsumerPolicy(), app_id: str = APP_ID,
               auto_offset_reset: str = "earliest") -> faust.App:
    """A Faust app; ``app_id`` (prefixed) is its consumer group: the landing workers' by default."""
    app_id = settings.topic_prefix + app_id
    datadir = settings.state_dir.expanduser().resolve() / "faust" / app_id
    datadir.parent.mkdir(parents=True, exist_ok=True)
    return faust.App(
        app_id,
        broker=broker_urls(settings.kafka_bootstrap_servers),
        value_serializer="raw",
        key_serializer="raw",
        datadir=str(datadir),
        web_enabled=False,
        topic_disable_leader=True,
        topic_allow_declare=False,
        consumer_auto_offset_reset=auto_offset_reset,
        broker_commit_interval=timedelta(seconds=policy.commit_interval_s),
        broker_commit_every=policy.commit_every,
        broker_max_poll_records=policy.max_poll_records,
        stream_wait_empty=False,
    )


def topic(app: faust.App, settings: Settings, spec: TopicSpec) -> faust.TopicT:
    return app.topic(
        settings.topic(spec.name),
        partitions=spec.partitions,
        value_serializer="raw",
        key_serializer="raw",
        internal=False,
    )
