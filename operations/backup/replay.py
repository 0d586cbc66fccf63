"""Refill a restored database from Kafka: move the landing consumer group back to a time.

After a restore to T the committed offsets of the landing group point past what the restored
database holds (they were committed when the lost rows landed). Rewinding the group to the offsets of
T minus a margin makes the next workers land again everything Kafka still holds from there; the
landing dedups on (event_id, ts) against ``event_keys`` in the same transaction, so what the restore
kept is not stored twice. It stops at the topic's retention (``retention.ms`` of player.events.raw,
7 days: streams/topics.py): what Kafka has deleted since is gone with the database, unless the
Parquet archive (retention/) holds it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from gamemetrics.settings import Settings
from operations.errors import BackupError
from streams.app import APP_ID
from streams.topics import RAW_EVENTS

DEFAULT_MARGIN = timedelta(minutes=5)
TIMEOUT_S = 30.0


def rewind_landing(settings: Settings, to: datetime, margin: timedelta = DEFAULT_MARGIN) -> dict[int, int]:
    """Set the landing group's committed offsets on player.events.raw to the first message at or after
    ``to - margin`` (the end of a partition with none). The group must have no live member (workers
    stopped). Returns partition -> offset."""
    from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, KafkaException, TopicPartition
    from confluent_kafka.admin import AdminClient

    topic = settings.topic(RAW_EVENTS.name)
    group = settings.topic_prefix + APP_ID
    since_ms = int((to - margin).timestamp() * 1000)
    probe = Consumer(settings.kafka_config(**{"group.id": f"{group}-rewind-probe", "enable.auto.commit": False}))
    try:
        partitions = probe.list_topics(topic, timeout=TIMEOUT_S).topics[topic].partitions
        asked = [TopicPartition(topic, p, since_ms) for p in sorted(partitions)]
        found = probe.offsets_for_times(asked, timeout=TIMEOUT_S)
        offsets = {}
        for tp in found:
            if tp.offset < 0:  # no message at or after the time: the end of the partition
                tp.offset = probe.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=TIMEOUT_S)[1]
            offsets[tp.partition] = tp.offset
    finally:
        probe.close()
    admin = AdminClient(settings.kafka_config())
    request = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p, o) for p, o in offsets.items()])
    try:
        admin.alter_consumer_group_offsets([request])[group].result(timeout=TIMEOUT_S)
    except KafkaException as exc:
        raise BackupError(f"rewinding consumer group {group} failed (stop its workers first): {exc}") from exc
    return offsets
