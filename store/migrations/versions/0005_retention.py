"""Retention, archival and GDPR: per-game policies, the archive manifest, erase/export requests,
tombstones, and the hash-chained audit log.

Revision ID: 0005
Revises: 0003 (the lead re-chains it after 0004 at merge time)
Create Date: 2026-12-01
"""

from alembic import op

revision = "0005"
down_revision = "0004_event_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE retention_policies (
            game_id      text NOT NULL REFERENCES games (game_id) ON DELETE CASCADE,
            store        text NOT NULL CHECK (store IN ('player_events', 'archive', 'rollups', 'dead_letters',
                                                         'notification_log')),
            keep_days    integer NOT NULL CHECK (keep_days > 0),
            updated_at   timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (game_id, store)
        )
        """
    )
    op.execute(
        "COMMENT ON TABLE retention_policies IS "
        "'per-game overrides of the retention defaults (GAMEMETRICS_RETENTION_*); absent = the default'"
    )
    op.execute(
        """
        CREATE TABLE archive_manifest (
            game_id      text NOT NULL,
            day          date NOT NULL,
            part         integer NOT NULL,
            bucket       integer NOT NULL DEFAULT 0,
            buckets      integer NOT NULL DEFAULT 1 CHECK (bucket >= 0 AND bucket < buckets),
            object_key   text NOT NULL UNIQUE,
            rows         bigint NOT NULL,
            checksum     numeric NOT NULL,
            bytes        bigint NOT NULL,
            state        text NOT NULL CHECK (state IN ('archived', 'dropped', 'restored', 'expired')),
            archived_at  timestamptz NOT NULL DEFAULT now(),
            dropped_at   timestamptz,
            rewritten_at timestamptz,
            restored_at  timestamptz,
            PRIMARY KEY (game_id, day, part)
        )
        """
    )
    op.execute(
        "COMMENT ON TABLE archive_manifest IS "
        "'the Parquet objects of each archived (game, day), verified (rows, checksum) before PostgreSQL dropped it; "
        "a big day is split into buckets of players (hashtextextended(player_id, 0) mod buckets) so an erase "
        "rewrites one bucket'"
    )
    op.execute(
        """
        CREATE TABLE archive_players (
            game_id      text NOT NULL,
            player_hash  text NOT NULL,
            day          date NOT NULL,
            PRIMARY KEY (game_id, player_hash, day)
        )
        """
    )
    op.execute(
        "COMMENT ON TABLE archive_players IS "
        "'which archived days hold a player (keyed hash): an erase rewrites only those Parquet objects'"
    )
    op.execute(
        """
        CREATE TABLE gdpr_requests (
            request_id    uuid PRIMARY KEY,
            kind          text NOT NULL CHECK (kind IN ('erase', 'export')),
            game_id       text NOT NULL,
            player_hash   text NOT NULL,
            player_id     text,
            requester     text NOT NULL,
            reason        text NOT NULL DEFAULT '',
            suppress      boolean NOT NULL DEFAULT false,
            status        text NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
            failing_store text,
            error         text,
            attempts      integer NOT NULL DEFAULT 0,
            requested_at  timestamptz NOT NULL DEFAULT now(),
            started_at    timestamptz,
            finished_at   timestamptz,
            receipt       jsonb,
            CHECK (status <> 'done' OR player_id IS NULL)
        )
        """
    )
    op.execute(
        "COMMENT ON COLUMN gdpr_requests.player_id IS "
        "'needed to find the rows while the request runs; cleared when it is done (the hash stays)'"
    )
    op.execute("CREATE INDEX gdpr_requests_open ON gdpr_requests (requested_at) WHERE status IN ('pending', 'failed')")
    op.execute(
        """
        CREATE TABLE player_tombstones (
            game_id      text NOT NULL,
            player_hash  text NOT NULL,
            erased_at    timestamptz NOT NULL,
            suppressed   boolean NOT NULL DEFAULT false,
            request_id   uuid NOT NULL,
            PRIMARY KEY (game_id, player_hash)
        )
        """
    )
    op.execute(
        "COMMENT ON TABLE player_tombstones IS "
        "'landing drops events of these players that happened or were received before erased_at (all of them "
        "while suppressed); ingest refuses suppressed players'"
    )
    op.execute(
        """
        CREATE TABLE audit_log (
            seq          bigint PRIMARY KEY,
            at           timestamptz NOT NULL DEFAULT now(),
            actor        text NOT NULL,
            action       text NOT NULL,
            game_id      text,
            subject      text,
            detail       jsonb NOT NULL DEFAULT '{}'::jsonb,
            prev_hash    text NOT NULL,
            row_hash     text NOT NULL
        )
        """
    )
    op.execute(
        "COMMENT ON TABLE audit_log IS "
        "'append-only; row_hash = HMAC(key, prev_hash + the row): `gamemetrics audit verify` finds an edited "
        "or deleted row. subject holds keyed hashes of player ids, never the ids'"
    )
    op.execute(
        """
        CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
    )


def downgrade() -> None:
    op.execute("DROP TABLE audit_log")
    op.execute("DROP FUNCTION audit_log_append_only()")
    for table in ("player_tombstones", "gdpr_requests", "archive_players", "archive_manifest", "retention_policies"):
        op.execute(f"DROP TABLE {table}")
