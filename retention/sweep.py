"""The stores that retention trims in place (no archive): rollups, daily activity, sessions, the
notification delivery log, expired archive objects, and the dead-letter topic's retention.

Each DELETE runs once for the games with their own policy and once for all the others.
"""

from __future__ import annotations

from datetime import date, datetime, time, timezone

import psycopg
import structlog

from retention import manifest
from retention.objects import ObjectStore
from retention.policies import Policies
from store.rollups import trim_sql, trimmed

log = structlog.get_logger("retention.sweep")

# (store of the policy, table, time column, is the column a date): every rollup with a trim rule
# (store/rollups.py), then the delivery log
TRIMMED = (
    *trimmed(),
    ("notification_log", "notification_deliveries", "updated_at", False),
)


def _bound(day: date, is_date: bool) -> date | datetime:
    return day if is_date else datetime.combine(day, time(), tzinfo=timezone.utc)


def trim_tables(conn: psycopg.Connection, policies: Policies, today: date) -> dict[str, int]:
    """Delete rows past their store's policy; returns rows deleted per table."""
    deleted: dict[str, int] = {}
    for store, table, column, is_date in TRIMMED:
        special = sorted(policies.overridden_games(store))
        n = 0
        with conn.transaction():
            for game in special:
                cur = conn.execute(trim_sql(table, column, one_game=True),
                                   (game, _bound(policies.cutoff(store, today, game), is_date)))
                n += cur.rowcount
            cur = conn.execute(trim_sql(table, column, one_game=False),
                               (_bound(policies.cutoff(store, today), is_date), special))
            n += cur.rowcount
        deleted[table] = n
    return deleted


def expire_archives(conn: psycopg.Connection, objects: ObjectStore, policies: Policies, today: date) -> int:
    """Delete archived objects past the archive policy (dropped parts only); returns parts expired."""
    expired = 0
    for part in manifest.parts_in_states(conn, ("dropped",)):
        if part.day >= policies.cutoff("archive", today, part.game_id):
            continue
        objects.delete(part.object_key)
        with conn.transaction():
            manifest.set_state(conn, [part], "expired")
            conn.execute("DELETE FROM archive_players WHERE game_id = %s AND day = %s", (part.game_id, part.day))
        expired += 1
        log.info("archive_expired", game_id=part.game_id, day=str(part.day), key=part.object_key)
    return expired


def dead_letter_retention(bootstrap_servers: str, topic: str, days: int, security: dict[str, str] | None = None) -> bool:
    """Make the dead-letter topic keep ``days`` days (its retention.ms); True when changed.

    Dead letters hold the original bytes of bad events, player ids included. They are not erased
    record by record (Kafka cannot); they age out within this retention, and every replay goes
    through landing, whose tombstone filter drops erased players (see README, GDPR)."""
    from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource

    admin = AdminClient({"bootstrap.servers": bootstrap_servers, **(security or {})})
    want = str(days * 24 * 3600 * 1000)
    resource = ConfigResource("topic", topic)
    (future,) = admin.describe_configs([resource]).values()
    current = future.result(timeout=10)
    if current.get("retention.ms") is not None and current["retention.ms"].value == want:
        return False
    entry = ConfigEntry("retention.ms", want, incremental_operation=AlterConfigOpType.SET)
    (done,) = admin.incremental_alter_configs([ConfigResource("topic", topic, incremental_configs=[entry])]).values()
    done.result(timeout=10)
    return True
