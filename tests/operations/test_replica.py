"""A streaming replica (issue 26, item 3): an event landed through the pipeline on the primary becomes
queryable on the replica, and the GraphQL API's reads (GAMEMETRICS_DATABASE_READ_URL) go there: while
the replica's replay is paused the API does not see the event the primary holds; resumed, it does.
Then the failover drill's core: the replica is promoted and takes writes."""

from __future__ import annotations

import asyncio
import time
import uuid

import psycopg
import pytest

from graphql_api.database import Database
from operations.stack.postgres import LocalPostgres
from operations.stack.replica import LocalReplica, replication_lag
from store import db
from store.games import create_game
from store.migrate import upgrade
from tests.services import free_port, running_ingest, running_worker, wait_for

pytestmark = pytest.mark.integration


def count_on(url: str, schema: str, event_id: str) -> int:
    with psycopg.connect(url, options=db.search_path_option(schema), connect_timeout=5) as conn:
        return conn.execute("SELECT count(*) FROM player_events WHERE event_id = %s", (event_id,)).fetchone()[0]


def api_count(settings, event_id: str) -> int:
    async def ask() -> int:
        database = Database(settings, 1, 5.0)
        try:
            return (await database.fetch("SELECT count(*) FROM player_events WHERE event_id = %s", (event_id,)))[0][0]
        finally:
            await database.close()

    return asyncio.run(ask())


def api_replica_lag(settings) -> float | None:
    from graphql_api.analytics.pipeline import replica_lag_seconds

    async def ask() -> float | None:
        database = Database(settings, 1, 5.0)
        try:
            return await replica_lag_seconds(database)
        finally:
            await database.close()

    return asyncio.run(ask())


def test_landed_event_is_queryable_on_the_replica_and_the_api_reads_there(isolated, tmp_path):
    import httpx

    primary = LocalPostgres(tmp_path / "primary", port=free_port())
    replica = LocalReplica(tmp_path / "replica", primary, port=free_port())
    try:
        primary.start()
        primary.wait_ready(primary.url)
        primary.ensure_database()
        settings = isolated.model_copy(update={"database_url": primary.url})
        upgrade(settings)
        replica.start()
        replica.wait_ready(replica.url)
        read = settings.model_copy(update={"database_read_url": replica.url})
        with db.connect(settings) as conn:
            game = create_game(conn, f"replica-{uuid.uuid4().hex[:6]}")
        wait_for(lambda: replication_lag(primary.url), 30, "the replica streaming from the primary")

        def land_one(url: str) -> str:
            event = {"event_id": str(uuid.uuid4()), "event_type": "session_start", "player_id": "p-1",
                     "ts": int(time.time() * 1000)}
            response = httpx.post(f"{url}/v1/events", json={"events": [event]},
                                  headers={"Authorization": f"Bearer {game.api_key}"}, timeout=30)
            assert response.status_code == 200, response.text
            wait_for(lambda: count_on(primary.url, settings.database_schema, event["event_id"]) == 1, 60, "landing")
            return event["event_id"]

        with running_ingest(settings, tmp_path) as url, running_worker(settings, tmp_path):
            first = land_one(url)
            wait_for(lambda: count_on(replica.url, settings.database_schema, first) == 1, 30, "the event on the replica")
            assert api_count(read, first) == 1

            with psycopg.connect(replica.url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
                conn.execute("SELECT pg_wal_replay_pause()")
                second = land_one(url)
                assert count_on(primary.url, settings.database_schema, second) == 1
                assert api_count(read, second) == 0  # the API reads the (paused) replica, not the primary
                assert api_count(settings, second) == 1  # without a read URL it reads the primary
                time.sleep(0.5)
                assert api_replica_lag(read) > 0  # the pipeline panel's replica lag: received, not replayed
                assert api_replica_lag(settings) is None  # reads on the primary: no replica lag to show
                conn.execute("SELECT pg_wal_replay_resume()")
            wait_for(lambda: api_count(read, second) == 1, 30, "the API to see the event once replay resumed")
            wait_for(lambda: api_replica_lag(read) == 0.0, 30, "the replica lag back to 0")
        lag = replication_lag(primary.url)
        assert len(lag) == 1 and lag[0][1] < 30

        # failover: the replica is promoted and takes writes on its own
        primary.stop(mode="immediate")
        started = time.monotonic()
        replica.promote()
        with psycopg.connect(replica.url, connect_timeout=5) as conn:
            assert not conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]
        print(f"\npromotion took {time.monotonic() - started:.2f}s")
        assert count_on(replica.url, settings.database_schema, second) == 1
    finally:
        for cluster in (replica, primary):
            cluster.stop(mode="immediate")
            cluster.purge()
