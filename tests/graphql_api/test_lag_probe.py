"""The landing group's lag (``graphql_api/lag_probe.py``): per partition, pure, and against the real Kafka."""

from __future__ import annotations

import asyncio

import pytest

from graphql_api.lag_probe import LagProbe, partition_lags
from graphql_api.types import PartitionLag


def test_lag_is_end_minus_committed_and_the_whole_partition_when_nothing_is_committed():
    lags = partition_lags(committed={0: 40, 2: 7}, ends={2: 7, 0: 100, 1: 25})
    assert lags == [
        PartitionLag(partition=0, committed=40, end=100, lag=60),
        PartitionLag(partition=1, committed=None, end=25, lag=25),  # the group never committed here
        PartitionLag(partition=2, committed=7, end=7, lag=0),
    ]


@pytest.mark.integration
def test_a_fresh_topic_has_no_lag_and_names_the_landing_group(isolated):  # its topics are created, empty
    probe = LagProbe(isolated, timeout_s=10.0, cache_s=0.0)
    partitions = asyncio.run(probe.partitions())
    assert partitions and all(p.lag == 0 and p.end == 0 and p.committed is None for p in partitions)
    assert probe.topic == isolated.topic("player.events.raw") and probe.group.startswith(isolated.topic_prefix)
