"""The landing consumer group's lag, read with Kafka's admin API (the ``pipeline`` query's adapter).

Committed offsets of the landing group on ``player.events.raw`` against the partitions' ends,
measured on a thread (confluent-kafka's admin calls block) and cached per process, so a
dashboard refreshing every second costs Kafka one reading per ``lag_cache_s``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from gamemetrics.settings import Settings
from graphql_api.errors import Unavailable
from graphql_api.types import PartitionLag
from streams.app import APP_ID
from streams.topics import RAW_EVENTS


def partition_lags(committed: dict[int, int], ends: dict[int, int]) -> list[PartitionLag]:
    """Lag per partition: end - committed (the whole partition when nothing is committed). Pure."""
    return [
        PartitionLag(partition=p, committed=committed.get(p), end=end, lag=max(0, end - max(committed.get(p, 0), 0)))
        for p, end in sorted(ends.items())
    ]


@dataclass(frozen=True)
class LagReading:
    at: float
    partitions: list[PartitionLag]


class LagProbe:
    """Committed offsets of the landing group against the partitions' ends, cached ``cache_s``."""

    def __init__(self, settings: Settings, timeout_s: float, cache_s: float) -> None:
        self.group = settings.topic_prefix + APP_ID
        self.topic = settings.topic(RAW_EVENTS.name)
        self._servers = settings.kafka_bootstrap_servers
        self._timeout_s = timeout_s
        self._cache_s = cache_s
        self._admin: AdminClient | None = None
        self._last: LagReading | None = None
        self._lock = asyncio.Lock()

    def _measure(self) -> list[PartitionLag]:
        if self._admin is None:
            self._admin = AdminClient({"bootstrap.servers": self._servers})
        t = self._timeout_s
        topic = self._admin.list_topics(self.topic, timeout=t).topics.get(self.topic)
        if topic is None or topic.error is not None:
            raise Unavailable(f"topic {self.topic} is not in Kafka at {self._servers}")
        parts = [TopicPartition(self.topic, p) for p in sorted(topic.partitions)]
        ends = {tp.partition: info.result(timeout=t).offset
                for tp, info in self._admin.list_offsets({tp: OffsetSpec.latest() for tp in parts},
                                                         request_timeout=t).items()}
        offsets = self._admin.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(self.group, parts)], request_timeout=t
        )[self.group].result(timeout=t)
        committed = {tp.partition: tp.offset for tp in offsets.topic_partitions if tp.offset >= 0}
        return partition_lags(committed, ends)

    async def partitions(self) -> list[PartitionLag]:
        async with self._lock:
            if self._last is None or time.monotonic() - self._last.at > self._cache_s:
                try:
                    self._last = LagReading(time.monotonic(), await asyncio.to_thread(self._measure))
                except KafkaException as exc:
                    raise Unavailable(f"Kafka at {self._servers} did not answer: {exc}") from exc
            return self._last.partitions
