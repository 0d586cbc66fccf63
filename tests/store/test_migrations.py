import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from store import db
from store.games import create_game, game_for_key
from store.partitions import ensure_partitions, existing_partitions, partition_name, timescaledb_enabled

pytestmark = pytest.mark.integration


def insert_event(conn, when: datetime) -> None:
    conn.execute(
        "INSERT INTO player_events (event_id, event_time, game_id, player_id, event_type, client_ts, received_at, "
        "properties, batch_id) VALUES (%s, %s, 'g', 'p', 'custom.x', %s, %s, '{}', %s)",
        (uuid.uuid4(), when, when, when, uuid.uuid4()),
    )


def native_only(store_backend: str) -> None:
    if store_backend != "native":
        pytest.skip("native partitions only (a hypertable's chunks: tests/store/test_timescale.py)")


def test_daily_partitions_exist_around_today(isolated, store_backend):
    native_only(store_backend)
    with db.connect(isolated, autocommit=True) as conn:
        assert not timescaledb_enabled(conn)
        names = existing_partitions(conn)
    today = datetime.now(timezone.utc).date()
    for offset in (-1, 0, 1, 7):
        assert partition_name(today + timedelta(days=offset)) in names
    assert "player_events_default" in names


def test_a_late_partition_takes_its_rows_out_of_the_default_partition(isolated, store_backend):
    native_only(store_backend)
    far = date(2031, 5, 17)
    when = datetime(2031, 5, 17, 12, tzinfo=timezone.utc)
    with db.connect(isolated, autocommit=True) as conn:
        insert_event(conn, when)
        assert conn.execute("SELECT count(*) FROM player_events_default").fetchone()[0] == 1
        created = ensure_partitions(conn, today=far)
        assert partition_name(far) in created
        assert conn.execute("SELECT count(*) FROM player_events_default").fetchone()[0] == 0
        assert conn.execute(f"SELECT count(*) FROM {partition_name(far)}").fetchone()[0] == 1
        assert ensure_partitions(conn, today=far) == []


def _alembic(settings, step, revision: str) -> None:
    """``alembic upgrade|downgrade revision`` on the test's schema (store.migrate.upgrade runs only up)."""
    from store.migrate import alembic_config

    config = alembic_config()
    engine = db.engine(settings)
    try:
        with engine.connect() as connection:
            config.attributes.update(connection=connection, schema=settings.database_schema, store_backend="auto")
            step(config, revision)
    finally:
        engine.dispose()


def unique_indexes(conn) -> list[str]:
    """The unique indexes of player_events (the parent table)."""
    return [r[0] for r in conn.execute(
        "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = 'player_events'::regclass AND indisunique"
    ).fetchall()]


def test_player_events_has_no_unique_key_and_a_downgrade_restores_it(isolated):
    from alembic import command

    when = datetime.now(timezone.utc)
    event_id = uuid.uuid4()
    insert = ("INSERT INTO player_events (event_id, event_time, game_id, player_id, event_type, client_ts, "
              "received_at, properties, batch_id) VALUES (%s, %s, 'g', 'p', 'x', %s, %s, '{}', %s)")
    with db.connect(isolated, autocommit=True) as conn:
        assert unique_indexes(conn) == []  # 0006: event_keys decides what is a duplicate, not this table
        conn.execute(insert, (event_id, when, when, when, uuid.uuid4()))
        conn.execute(insert, (uuid.uuid4(), when - timedelta(days=2), when, when, uuid.uuid4()))  # another day
    _alembic(isolated, command.downgrade, "0005")
    with db.connect(isolated, autocommit=True) as conn:
        assert unique_indexes(conn) == ["player_events_pkey"]
        conn.execute(insert + " ON CONFLICT (event_id, event_time) DO NOTHING", (event_id, when, when, when, uuid.uuid4()))
        assert conn.execute("SELECT count(*) FROM player_events").fetchone()[0] == 2
    _alembic(isolated, command.upgrade, "head")
    with db.connect(isolated, autocommit=True) as conn:
        assert unique_indexes(conn) == []
        assert conn.execute("SELECT count(*) FROM player_events").fetchone()[0] == 2


def indexes(conn, table: str) -> dict[str, str]:
    """Index name -> definition, of ``table`` (the parent table or hypertable)."""
    return dict(conn.execute(
        "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = %s::regclass",
        (table,),
    ).fetchall())


def test_event_keys_are_keyed_by_client_ts_first_and_a_downgrade_restores_the_old_order(isolated, store_backend):
    from alembic import command

    with db.connect(isolated, autocommit=True) as conn:
        keys = indexes(conn, "event_keys")
        assert list(keys) == ["event_keys_pkey"]  # 0007: no separate time index beside the key
        assert keys["event_keys_pkey"].endswith("(client_ts, event_id)")
        assert set(indexes(conn, "player_events")) == {"player_events_game_time", "player_events_player_time"}
    _alembic(isolated, command.downgrade, "0006")
    with db.connect(isolated, autocommit=True) as conn:
        assert indexes(conn, "event_keys")["event_keys_pkey"].endswith("(event_id, client_ts)")
        if store_backend == "timescaledb":  # the default time indexes create_hypertable made come back
            assert "event_keys_client_ts_idx" in indexes(conn, "event_keys")
            assert "player_events_event_time_idx" in indexes(conn, "player_events")
    _alembic(isolated, command.upgrade, "head")
    with db.connect(isolated, autocommit=True) as conn:
        assert indexes(conn, "event_keys")["event_keys_pkey"].endswith("(client_ts, event_id)")


def test_api_keys_are_stored_hashed_and_resolve_to_their_game(isolated):
    with db.connect(isolated) as conn:
        game = create_game(conn, "Hash Check")
        stored = [r[0] for r in conn.execute("SELECT key_hash FROM api_keys").fetchall()]
        assert game.api_key not in stored and len(stored) == 1
        assert game_for_key(conn, game.api_key) == game.game_id
        assert game_for_key(conn, game.api_key + "x") is None
