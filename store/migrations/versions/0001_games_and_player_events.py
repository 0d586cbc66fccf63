"""games, api_keys and the time-partitioned player_events table.

player_events is split by day on event_time, by the backend ``store.migrate`` resolved from
GAMEMETRICS_STORE_BACKEND (``config.attributes["store_backend"]``; ``auto`` when alembic runs
without it): native range partitions with a default partition, or a TimescaleDB hypertable with
daily chunks, compressed by game (segment) in event-time order. The extension's functions are
called qualified with the schema it is created in, whatever schema we migrate.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# The hypertable's layout (frozen here: a later change is a new migration). Daily chunks, aligned
# on UTC midnight like the native partitions; compressed column-wise in segments of one game,
# rows ordered newest first: an analyst's queries filter on a game and a time range. event_id
# closes the order so the primary key (event_id, event_time) is covered: TimescaleDB checks it
# against compressed rows when a late or replayed event lands in a compressed chunk.
CHUNK_INTERVAL = "1 day"
COMPRESS_SEGMENTBY = "game_id"
COMPRESS_ORDERBY = "event_time DESC, event_id"


def _backend(conn) -> str:
    from store.backend import resolve_backend

    return resolve_backend(conn, op.get_context().config.attributes.get("store_backend", "auto"))


def _make_hypertable(conn) -> None:
    from psycopg import sql

    from store.backend import ensure_extension

    ts = sql.Identifier(ensure_extension(conn))
    table = sql.SQL("{}.player_events").format(sql.Identifier(conn.execute("SELECT current_schema()").fetchone()[0]))
    conn.execute(
        sql.SQL("SELECT {}.create_hypertable({}, {}.by_range('event_time', {}::interval))").format(
            ts, sql.Literal(table.as_string(conn)), ts, sql.Literal(CHUNK_INTERVAL)
        )
    )
    conn.execute(
        sql.SQL(
            "ALTER TABLE {} SET (timescaledb.compress, timescaledb.compress_segmentby = {},"
            " timescaledb.compress_orderby = {})"
        ).format(table, sql.Literal(COMPRESS_SEGMENTBY), sql.Literal(COMPRESS_ORDERBY))
    )


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
    conn = op.get_bind().connection.driver_connection  # psycopg, in alembic's transaction
    timescale = _backend(conn) == "timescaledb"
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
        _make_hypertable(conn)
    else:
        op.execute("CREATE TABLE player_events_default PARTITION OF player_events DEFAULT")


def downgrade() -> None:
    op.execute("DROP TABLE player_events")
    op.execute("DROP TABLE api_keys")
    op.execute("DROP TABLE games")
