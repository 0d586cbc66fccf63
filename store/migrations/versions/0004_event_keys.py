"""event_keys: the landing dedup key (event id, the client's own ts), independent of sent_at.

A client retry reuses the event id and the event's ``ts`` but may carry another ``sent_at``, so its
skew-corrected ``event_time`` (player_events' partition key) can move by days; player_events'
primary key (event_id, event_time) cannot see such a retry. event_keys holds (event_id,
client_ts) for every landed event, written in the landing transaction, partitioned by day of
client_ts like player_events (so a probe touches one partition per event and old days are
dropped whole); the landing probe and the race guard (its primary key) are on it.

Revision ID: 0004_event_keys
Revises: 0003
Create Date: 2026-12-01
"""

from alembic import op

revision = "0004_event_keys"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    timescale = op.get_bind().exec_driver_sql(
        "SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'"
    ).first() is not None
    op.execute(
        f"""
        CREATE TABLE event_keys (
            event_id   uuid NOT NULL,
            client_ts  timestamptz NOT NULL,
            CONSTRAINT event_keys_pkey PRIMARY KEY (event_id, client_ts)
        ) {"" if timescale else "PARTITION BY RANGE (client_ts)"}
        """
    )
    op.execute("COMMENT ON TABLE event_keys IS 'landing dedup: (event id, client ts) of every landed event'")
    if timescale:
        op.execute("SELECT create_hypertable('event_keys', 'client_ts', chunk_time_interval => interval '1 day')")
    else:
        op.execute("CREATE TABLE event_keys_default PARTITION OF event_keys DEFAULT")
    op.execute("INSERT INTO event_keys SELECT event_id, client_ts FROM player_events ON CONFLICT DO NOTHING")


def downgrade() -> None:
    op.execute("DROP TABLE event_keys")
