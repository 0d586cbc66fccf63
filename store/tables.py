"""Table definitions (SQLAlchemy Core), schema-less: the schema comes from the connection's
``search_path`` (see :mod:`store.db`), so one definition serves every deployment and
every test schema. The migrations in ``migrations/versions`` are the source of truth for the
schema; this module defines the tables Python code addresses by column (the rollup tables are
declared in :mod:`store.rollups`, whose declarations render their SQL; the notification tables are
written with explicit SQL in ``processors/``).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Integer,
    Numeric,
    DateTime,
    ForeignKey,
    Index,
    MetaData,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = MetaData()

games = Table(
    "games",
    metadata,
    Column("game_id", Text, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_hash", Text, primary_key=True, comment="sha256 of the key; the key itself is never stored"),
    Column("game_id", Text, ForeignKey("games.game_id", ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=True, comment="null = valid until rotated"),
)

# Partitioned by day on event_time (native partitions, or a TimescaleDB hypertable when the
# extension exists). No unique key since migration 0006: landing deduplicates on (event_id,
# client_ts) in event_keys (its primary key guards races), and looks up the events whose key may
# be pruned by (game_id, player_id, event_time) and id (processors/postgres_sink.py).
player_events = Table(
    "player_events",
    metadata,
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("event_time", DateTime(timezone=True), nullable=False, comment="skew-corrected event time"),
    Column("game_id", Text, nullable=False),
    Column("player_id", Text, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("client_ts", DateTime(timezone=True), nullable=False, comment="event time as the client sent it"),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("session_id", Text),
    Column("platform", Text),
    Column("app_version", Text),
    Column("country", Text),
    Column("properties", JSONB, nullable=False),
    Column("batch_id", UUID(as_uuid=True), nullable=False),
    Column("landed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("session_seq", Integer, comment="1-based position of the event in its session"),
    Column("is_new_player", Boolean, nullable=False, server_default="false"),
    Column("revenue_usd", Numeric(18, 6)),
    Column("delay_ms", BigInteger, comment="received_at - event_time: how late the event reached us"),
    Index("player_events_game_time", "game_id", "event_time"),
    Index("player_events_player_time", "game_id", "player_id", "event_time"),
    postgresql_partition_by="RANGE (event_time)",
)

# The columns landing writes, in COPY order (landed_at takes its default).
PLAYER_EVENT_COLUMNS: tuple[str, ...] = tuple(
    c.name for c in player_events.columns if c.name != "landed_at"
)
