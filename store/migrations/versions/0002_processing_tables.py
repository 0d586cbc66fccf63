"""Enrichment columns on player_events; the tables the processors maintain.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from alembic import op

from store.currencies import USD_PER_UNIT

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE player_events
            ADD COLUMN session_seq    integer,
            ADD COLUMN is_new_player  boolean NOT NULL DEFAULT false,
            ADD COLUMN revenue_usd    numeric(18, 6),
            ADD COLUMN delay_ms       bigint
        """
    )
    op.execute("COMMENT ON COLUMN player_events.session_seq IS '1-based position of the event in its session'")
    op.execute("COMMENT ON COLUMN player_events.delay_ms IS 'received_at - event_time: how late the event reached us'")
    op.execute(
        """
        CREATE TABLE currency_rates (
            currency      text PRIMARY KEY,
            usd_per_unit  numeric(20, 10) NOT NULL CHECK (usd_per_unit > 0),
            updated_at    timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    values = ", ".join(f"('{code}', {rate})" for code, rate in sorted(USD_PER_UNIT.items()))
    op.execute(f"INSERT INTO currency_rates (currency, usd_per_unit) VALUES {values}")
    op.execute(
        """
        CREATE TABLE players (
            game_id               text NOT NULL,
            player_id             text NOT NULL,
            first_seen            timestamptz NOT NULL,
            last_seen             timestamptz NOT NULL,
            events                bigint NOT NULL DEFAULT 0,
            sessions              bigint NOT NULL DEFAULT 0,
            lifetime_revenue_usd  numeric(18, 6) NOT NULL DEFAULT 0,
            purchases             bigint NOT NULL DEFAULT 0,
            platform              text,
            country               text,
            app_version           text,
            PRIMARY KEY (game_id, player_id)
        )
        """
    )
    op.execute("CREATE INDEX players_first_seen ON players (game_id, first_seen)")
    op.execute(
        """
        CREATE TABLE sessions (
            game_id      text NOT NULL,
            session_id   text NOT NULL,
            player_id    text NOT NULL,
            started_at   timestamptz NOT NULL,
            last_event_at timestamptz NOT NULL,
            ended_at     timestamptz,
            duration_s   double precision,
            events       integer NOT NULL DEFAULT 0,
            PRIMARY KEY (game_id, session_id)
        )
        """
    )
    op.execute("CREATE INDEX sessions_started ON sessions (game_id, started_at)")
    op.execute(
        """
        CREATE TABLE player_daily_activity (
            game_id      text NOT NULL,
            day          date NOT NULL,
            player_id    text NOT NULL,
            events       integer NOT NULL DEFAULT 0,
            sessions     integer NOT NULL DEFAULT 0,
            revenue_usd  numeric(18, 6) NOT NULL DEFAULT 0,
            PRIMARY KEY (game_id, day, player_id)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE event_rollup_minute (
            game_id         text NOT NULL,
            bucket          timestamptz NOT NULL,
            event_type      text NOT NULL,
            events          bigint NOT NULL DEFAULT 0,
            unique_players  bigint NOT NULL DEFAULT 0,
            revenue_usd     numeric(18, 6) NOT NULL DEFAULT 0,
            PRIMARY KEY (game_id, bucket, event_type)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE rollup_minute_players (
            game_id     text NOT NULL,
            bucket      timestamptz NOT NULL,
            event_type  text NOT NULL,
            player_id   text NOT NULL,
            PRIMARY KEY (game_id, bucket, event_type, player_id)
        )
        """
    )
    op.execute(
        "COMMENT ON TABLE rollup_minute_players IS "
        "'who was counted in event_rollup_minute.unique_players; kept for the ingest past horizon, then pruned'"
    )
    op.execute(
        """
        CREATE TABLE match_outcomes_hourly (
            game_id   text NOT NULL,
            bucket    timestamptz NOT NULL,
            mode      text NOT NULL,
            outcome   text NOT NULL,
            matches   bigint NOT NULL DEFAULT 0,
            PRIMARY KEY (game_id, bucket, mode, outcome)
        )
        """
    )


def downgrade() -> None:
    for table in ("match_outcomes_hourly", "rollup_minute_players", "event_rollup_minute", "player_daily_activity",
                  "sessions", "players", "currency_rates"):
        op.execute(f"DROP TABLE {table}")
    op.execute("ALTER TABLE player_events DROP COLUMN session_seq, DROP COLUMN is_new_player, "
               "DROP COLUMN revenue_usd, DROP COLUMN delay_ms")
