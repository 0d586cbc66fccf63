"""The Faust application of the landing workers: one app, topics from ``streams.topics``.

Messages stay raw bytes in Faust (``value_serializer="raw"``); the processors decode them with
the project's Avro wire codec, so decoding failures are ours to route to the DLQ instead of
Faust's to log and skip.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import faust

from gamemetrics.settings import Settings
from streams.topics import TopicSpec

APP_ID = "gamemetrics-landing"
NOTIFICATIONS_APP_ID = "gamemetrics-notifications"
"""The consumer group of ``gamemetrics notifications worker`` (the notification agents on their own)."""


@dataclass(frozen=True)
class ConsumerPolicy:
    """When Faust commits the offsets of events the agents have finished (acked), and how much one
    poll and one fetch bring (``max_fetch_bytes`` is per partition, at least the largest message)."""

    commit_interval_s: float = 1.0
    commit_every: int = 10_000
    max_poll_records: int = 500
    max_fetch_bytes: int = 1024**2


@dataclass(frozen=True)
class GroupMembership:
    """How fast the group notices a dead member and forms again (issue 11: landing back within 15 s).

    Faust's defaults (60 s session and rebalance timeouts) stall a killed worker's partitions for a
    minute, and after a broker restart the coordinator waits out the old members' 60 s sessions.

        session_timeout_s     a member that sent no heartbeat for this long is out; its partitions
                              move to the others. 10 s: twice the longest GC/CPU stall seen under load
        heartbeat_interval_s  a third of the session timeout or less (Kafka's rule of thumb)
        rebalance_timeout_s   how long a rebalance waits for members to rejoin (they finish their batch)
        instance_id           static membership (KIP-345): a stable, unique id per worker (e.g. the pod
                              name of a StatefulSet). A worker restarted with its id gets its partitions
                              back at once, without a rebalance; empty = dynamic membership. Two live
                              workers with one id fence each other: never share one.
    """

    session_timeout_s: float = 10.0
    heartbeat_interval_s: float = 2.0
    rebalance_timeout_s: float = 20.0
    instance_id: str = ""

    def faust_options(self) -> dict[str, Any]:
        return {
            "broker_session_timeout": self.session_timeout_s,
            "broker_heartbeat_interval": self.heartbeat_interval_s,
            "broker_rebalance_timeout": self.rebalance_timeout_s,
            "consumer_group_instance_id": self.instance_id or None,
        }


def faust_credentials(settings: Settings) -> dict[str, Any]:
    """Faust/aiokafka security options from the same settings as ``Settings.kafka_security()``."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return {}
    context = None
    if protocol.endswith("SSL"):
        context = ssl.create_default_context(
            cafile=str(settings.kafka_ssl_ca_file) if settings.kafka_ssl_ca_file is not None else None
        )
    if protocol == "SSL":
        return {"broker_credentials": faust.SSLCredentials(context)}
    return {"broker_credentials": faust.SASLCredentials(
        username=settings.kafka_sasl_username, password=settings.kafka_sasl_password.get_secret_value(),
        mechanism=settings.kafka_sasl_mechanism, ssl_context=context,
    )}


def aiokafka_security(settings: Settings) -> dict[str, Any]:
    """The same security as keyword arguments of aiokafka's AIOKafkaConsumer/AIOKafkaProducer."""
    credentials = faust_credentials(settings).get("broker_credentials")
    if credentials is None:
        return {}
    if isinstance(credentials, faust.SSLCredentials):
        return {"security_protocol": "SSL", "ssl_context": credentials.context}
    return {"security_protocol": credentials.protocol.value, "sasl_mechanism": credentials.mechanism.value,
            "sasl_plain_username": credentials.username, "sasl_plain_password": credentials.password,
            "ssl_context": credentials.ssl_context}


def broker_urls(bootstrap_servers: str) -> list[str]:
    return [f"kafka://{server.strip()}" for server in bootstrap_servers.split(",") if server.strip()]


def create_app(settings: Settings, policy: ConsumerPolicy = ConsumerPolicy(), app_id: str = APP_ID,
               auto_offset_reset: str = "earliest", membership: GroupMembership = GroupMembership()) -> faust.App:
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
        consumer_max_fetch_size=policy.max_fetch_bytes,
        stream_wait_empty=False,
        **membership.faust_options(),
        **faust_credentials(settings),
    )


def topic(app: faust.App, settings: Settings, spec: TopicSpec) -> faust.TopicT:
    return app.topic(
        settings.topic(spec.name),
        partitions=spec.partitions,
        value_serializer="raw",
        key_serializer="raw",
        internal=False,
    )
