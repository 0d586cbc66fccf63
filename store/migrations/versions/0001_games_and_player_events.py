"""games, api_keys and the time-partitioned player_events table.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _timescaledb_available() -> bool:
    bind = op.get_bind()
    return bind.exec_driver_sql(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
    ).first() is not None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE games (
            game_id     text PRIMARY KEY,
            name        text NOT NULL UNIQUE,
            created_at  timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        """
        CREATE TABLE api_keys (
            key_hash    text PRIMARY KEY,
            game_id     text NOT NULL REFERENCES games (game_id) ON DELETE CASCADE,
            created_at  timestamptz NOT NULL DEFAULT now(),
            expires_at  timestamptz
        )
        """
    )
    op.execute("COMMENT ON COLUMN api_keys.key_hash IS 'sha256 of the key; the key itself is never stored'")
    timescale = _timescaledb_available()
    partition_clause = "" if timescale else "PARTITION BY RANGE (event_time)"
    op.execute(
        f"""
        CREATE TABLE player_events (
            event_id     uuid NOT NULL,
            event_time   timestamptz NOT NULL,
            game_id      text NOT NULL,
            player_id    text NOT NULL,
            event_type   text NOT NULL,
            client_ts    timestamptz NOT NULL,
            received_at  timestamptz NOT NULL,
            session_id   text,
            platform     text,
            app_version  text,
            country      text,
            properties   jsonb NOT NULL,
            batch_id     uuid NOT NULL,
            landed_at    timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT player_events_pkey PRIMARY KEY (event_id, event_time)
        ) {partition_clause}
        """
    )
    op.execute("CREATE INDEX player_events_game_time ON player_events (game_id, event_time)")
    op.execute("CREATE INDEX player_events_player_time ON player_events (game_id, player_id, event_time)")
    if timescale:
        op.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        op.execute(
            "SELECT create_hypertable('player_events', 'event_time', chunk_time_interval => interval '1 day')"
        )
    else:
        op.execute("CREATE TABLE player_events_default PARTITION OF player_events DEFAULT")


def downgrade() -> None:
    op.execute("DROP TABLE player_events")
    op.execute("DROP TABLE api_keys")
    op.execute("DROP TABLE games")
