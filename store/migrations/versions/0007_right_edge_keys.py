"""event_keys keyed (client_ts, event_id): every landed key goes in at the right edge of its btree.

Since 0004 the landing dedup key is the pair (event id, the client's own ts), and its primary key
was ``(event_id, client_ts)``: a random UUID first, so every landed event dirtied a random leaf page
of the index (the partition's whole index stays hot in shared buffers, and a page split lands
anywhere). The same pair ordered ``(client_ts, event_id)`` decides exactly the same thing (one key
per event id and client ts, whatever sent_at was), and a client's ts follows the clock: a group's
keys go in next to the newest ones. Landing COPYs the keys straight into the table and lets this
key's unique check find a replay or a retry (processors/postgres_sink.py).

TimescaleDB's hypertables also carry the default time index ``create_hypertable`` made
(``<table>_<time column>_idx``): on event_keys it duplicates the new key's first column; on
player_events no query reads by event time alone (every analyst query and the landing probe name a
game first: player_events_game_time and player_events_player_time; retention drops whole chunks;
bench/graphql.py measured no query slower without it). Both are dropped where they exist; the
native partitions never had them.

Downgrade restores the old key order and the hypertables' default indexes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_DEFAULT_TIME_INDEXES = {"player_events": "event_time", "event_keys": "client_ts"}


def upgrade() -> None:
    op.execute("ALTER TABLE event_keys DROP CONSTRAINT event_keys_pkey")
    op.execute("ALTER TABLE event_keys ADD CONSTRAINT event_keys_pkey PRIMARY KEY (client_ts, event_id)")
    for table, column in _DEFAULT_TIME_INDEXES.items():
        op.execute(f"DROP INDEX IF EXISTS {table}_{column}_idx")


def downgrade() -> None:
    from store.backend import table_backend

    conn = op.get_bind().connection.driver_connection
    op.execute("ALTER TABLE event_keys DROP CONSTRAINT event_keys_pkey")
    op.execute("ALTER TABLE event_keys ADD CONSTRAINT event_keys_pkey PRIMARY KEY (event_id, client_ts)")
    if table_backend(conn) == "timescaledb":
        for table, column in _DEFAULT_TIME_INDEXES.items():
            op.execute(f"CREATE INDEX IF NOT EXISTS {table}_{column}_idx ON {table} ({column} DESC)")
