"""Who may do what on a secured Kafka: one principal per service and the ACLs of exactly what it does.

Pure data (no Kafka client): ``operations.stack`` applies it to the local secured broker and the
deployment's KafkaUser resources are written from the same table. Topic and group names carry the
deployment's topic prefix.

    principal       does                                                   ACLs
    ingest          produces player.events.raw                             WRITE, DESCRIBE raw
    worker          landing: reads raw in group gamemetrics-landing,       READ raw, processed, notifications;
                    writes processed and the DLQ; notifications (same      WRITE processed, notifications, dlq;
                    Faust app): reads processed, writes notifications      READ group gamemetrics-landing
                    (or `notifications worker`, same principal)            READ group gamemetrics-notifications
    recommender     reads processed, writes recommendations.generated      READ processed, WRITE recommendations;
                                                                           READ groups gamemetrics-recommender*
    graphql         live consumer of processed (its own groups); lag of    READ processed, DESCRIBE raw;
                    the landing group                                      READ groups gamemetrics-graphql-live*;
                                                                           DESCRIBE group gamemetrics-landing
    admin           topic creation, the DLQ tools, ACLs                    super user (broker config)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from streams.app import APP_ID, NOTIFICATIONS_APP_ID
from streams.topics import DLQ, NOTIFICATIONS, PROCESSED_EVENTS, RAW_EVENTS, RECOMMENDATIONS

ResourceType = Literal["topic", "group"]
Pattern = Literal["literal", "prefixed"]
Operation = Literal["read", "write", "describe"]

ADMIN = "admin"
SERVICES = ("ingest", "worker", "recommender", "graphql")
GRAPHQL_LIVE_GROUP = "gamemetrics-graphql-live"
RECOMMENDER_GROUP = "gamemetrics-recommender"


@dataclass(frozen=True)
class Acl:
    """ALLOW ``principal`` to ``operation`` on ``resource`` ``name`` (literal or a prefix), from any host."""

    principal: str
    resource: ResourceType
    name: str
    operation: Operation
    pattern: Pattern = "literal"


def _topic(principal: str, name: str, *operations: Operation) -> list[Acl]:
    return [Acl(principal, "topic", name, op) for op in operations]


def service_acls(prefix: str = "") -> list[Acl]:
    """Every ACL of every service principal for the deployment whose topics begin with ``prefix``."""
    raw, processed = prefix + RAW_EVENTS.name, prefix + PROCESSED_EVENTS.name
    notifications, dlq, recommendations = prefix + NOTIFICATIONS.name, prefix + DLQ.name, prefix + RECOMMENDATIONS.name
    landing_group = prefix + APP_ID
    return [
        *_topic("ingest", raw, "write", "describe"),
        *_topic("worker", raw, "read", "describe"),
        *_topic("worker", processed, "read", "write", "describe"),
        *_topic("worker", notifications, "read", "write", "describe"),
        *_topic("worker", dlq, "write", "describe"),
        Acl("worker", "group", landing_group, "read"),
        Acl("worker", "group", prefix + NOTIFICATIONS_APP_ID, "read"),
        *_topic("recommender", processed, "read", "describe"),
        *_topic("recommender", recommendations, "write", "describe"),
        Acl("recommender", "group", prefix + RECOMMENDER_GROUP, "read", "prefixed"),
        *_topic("graphql", processed, "read", "describe"),
        *_topic("graphql", raw, "describe"),
        Acl("graphql", "group", prefix + GRAPHQL_LIVE_GROUP, "read", "prefixed"),
        Acl("graphql", "group", landing_group, "describe"),
    ]
