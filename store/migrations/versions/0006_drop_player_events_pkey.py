"""player_events without its primary key: event_keys decides what is a duplicate.

Since 0004 landing deduplicates on (event id, the client's own ts) in ``event_keys``, written in
the landing statement and guarded by its own primary key; ``player_events_pkey (event_id,
event_time)`` then only cost a random-UUID btree insert per event (~6-7 µs of PostgreSQL CPU per
landed event, bench/land_sql.py). What it still caught is now caught elsewhere:

- a Kafka replay (or a DLQ replay) of an event whose key was pruned (its client ts older than
  GAMEMETRICS_WORKER_DEDUP_KEEP_DAYS): the landing probe looks such events up in player_events by
  (game_id, player_id, event_time) (player_events_player_time) and event id;
- a restore of archived rows already in PostgreSQL: the restore inserts only rows absent by the
  same identity (retention/parquet.py);
- duplicates stored anyway (by hand): ``gamemetrics verify`` reports them (store/verify.py).

Two distinct events that share an id and a corrected time but not a client ts (two clients
reusing one id) are both kept now; the key used to drop the second one.

Native partitions: dropping the constraint on the parent drops its index on every partition
(the default one included). TimescaleDB: the same on the hypertable and its chunks, compressed
ones included; the compression settings do not name the constraint (their order ``event_time DESC,
event_id`` stays: it also orders the rows of a segment).

Downgrade adds the key back, which fails (and names the pair) if rows sharing an (event_id,
event_time) were stored meanwhile: delete the extra copies first.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE player_events DROP CONSTRAINT player_events_pkey")


def downgrade() -> None:
    op.execute("ALTER TABLE player_events ADD CONSTRAINT player_events_pkey PRIMARY KEY (event_id, event_time)")
