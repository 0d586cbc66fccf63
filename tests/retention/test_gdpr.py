"""GDPR on the real stack: ingest (HTTP) -> Kafka -> landing -> PostgreSQL + the S3 archive, then an
erase, and a hunt for the player in every table, object, cache and topic consumer output."""

from __future__ import annotations

import io
import json
import time
import uuid
import zipfile
from datetime import date, datetime, timedelta, timezone

import httpx
import orjson
import pyarrow.parquet as pq
import pytest
import redis

from recommender.cache import player_key
from recommender.vectors import safe_name
from retention.errors import ReceiptInvalid
from retention.gdpr import receipts, requests
from retention.objects import ObjectStore
from retention.run import run_gdpr_now, run_pass
from retention.settings import OtherStages
from schemas.catalog import load_catalog
from schemas.ids import schema_ids
from schemas.wire import AvroDeserializer
from store import db
from store.audit import AuditLog
from store.games import create_game
from store.partitions import ensure_partitions
from store.privacy import PlayerHasher
from streams.topics import PROCESSED_EVENTS, RAW_EVENTS
from tests.retention.seed import seed_day
from tests.retention.topics import land, read_topic
from tests.services import running_ingest, wait_for

pytestmark = pytest.mark.integration

ALLOWED_HASH_TABLES = {"gdpr_requests", "player_tombstones", "audit_log"}


def events(player: str, n: int, ts_ms: int, ids: list[str] | None = None) -> list[dict]:
    ids = ids or [str(uuid.uuid4()) for _ in range(n)]
    return [{"event_id": i, "event_type": "session_start" if k == 0 else "custom.level_up", "player_id": player,
             "ts": ts_ms + k, "session_id": f"s-{player}", "properties": {"level": k}} for k, i in enumerate(ids)]


def post(url: str, key: str, batch: list[dict]) -> dict:
    r = httpx.post(f"{url}/v1/events", content=orjson.dumps({"events": batch}),
                   headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def tables_holding(conn, needle: str) -> dict[str, int]:
    """Every table of the schema (partitions included) whose rows, as text, contain ``needle``."""
    found = {}
    for (table,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"):
        n = conn.execute(f'SELECT count(*) FROM "{table}" t WHERE strpos(t::text, %s) > 0', (needle,)).fetchone()[0]
        if n:
            found[table] = n
    return found


def per_table_counts(conn, player: str) -> dict[str, int]:
    return {t: conn.execute(f"SELECT count(*) FROM {t} WHERE player_id = %s", (player,)).fetchone()[0]
            for t in ("player_events", "players", "sessions", "player_daily_activity", "rollup_minute_players",
                      "notification_deliveries")}


def test_erase_leaves_nothing_of_the_player_anywhere_and_a_replay_lands_nothing(
        isolated, s3, retention_settings, gdpr_settings, tmp_path):
    ana, bo = f"ana-{uuid.uuid4().hex[:6]}", f"bo-{uuid.uuid4().hex[:6]}"
    with db.connect(isolated, autocommit=True) as conn:
        ensure_partitions(conn)
        game = create_game(conn, f"gdpr-{uuid.uuid4().hex[:6]}")
        old_day = datetime.now(timezone.utc).date() - timedelta(days=100)
        seed_day(conn, game.game_id, old_day, [ana, bo], 40)  # an archived day holding both
    run_pass(isolated, s3, retention_settings, gdpr_settings, OtherStages.load(), progress=False)
    now = int(time.time() * 1000)
    with running_ingest(isolated, tmp_path) as url:
        ana_events = events(ana, 30, now - 60_000)
        answer = post(url, game.api_key, ana_events + events(bo, 20, now - 60_000))
        assert answer["accepted"] == 50, answer["rejected"][:3]
        outcome = land(isolated, read_topic(isolated, RAW_EVENTS.name))
        assert outcome.landed == 50
        with db.connect(isolated, autocommit=True) as conn:
            conn.execute("INSERT INTO notification_deliveries (notification_id, channel, rule_id, game_id, player_id,"
                         " status, attempts) VALUES (%s, 'email', 'r1', %s, %s, 'delivered', 1), (%s, 'email', 'r1', %s,"
                         " %s, 'delivered', 1)", (uuid.uuid4(), game.game_id, ana, uuid.uuid4(), game.game_id, bo))
            bo_before = per_table_counts(conn, bo)
            assert per_table_counts(conn, ana)["player_events"] == 30
        cache = redis.Redis.from_url(isolated.redis_url)
        ns = safe_name(isolated.database_schema)
        cache.hset(player_key(ns, game.game_id, ana), "m1|rec|k=3", "[1,2,3]")
        cache.hset(player_key(ns, game.game_id, bo), "m1|rec|k=2", "[4,5]")

        # export first: one zip with the profile, PostgreSQL and archived events, behind a presigned URL
        with db.connect(isolated, autocommit=True) as conn:
            export = requests.create(conn, PlayerHasher.of(isolated), AuditLog.of(isolated), "export",
                                     game.game_id, ana, "dpo@studio", "art. 15")
        out = run_gdpr_now(isolated, s3, retention_settings, gdpr_settings, OtherStages.load(), str(export.request_id))
        bundle = zipfile.ZipFile(io.BytesIO(httpx.get(out.export_urls[str(export.request_id)], timeout=30).content))
        lines = {n: bundle.read(n).decode().splitlines() for n in bundle.namelist()}
        assert len(lines["events.jsonl"]) == 30 + 40 and len(lines["profile.jsonl"]) == 1
        assert len(lines["notifications.jsonl"]) == 1
        assert all(json.loads(x)["player_id"] == ana for x in lines["events.jsonl"])
        receipts.verify(out.receipts[str(export.request_id)], gdpr_settings.receipt_key.get_secret_value().encode())

        # the erase
        with db.connect(isolated, autocommit=True) as conn:
            erase = requests.create(conn, PlayerHasher.of(isolated), AuditLog.of(isolated), "erase",
                                    game.game_id, ana, "dpo@studio", "art. 17")
        # a client retry of old events and a late batch, both in Kafka before the erase job runs
        post(url, game.api_key, ana_events[:10])
        out = run_gdpr_now(isolated, s3, retention_settings, gdpr_settings, OtherStages.load(), str(erase.request_id))
        receipt = out.receipts[str(erase.request_id)]
        assert receipt["stores"]["postgresql"]["player_events"] == 30
        assert receipt["stores"]["archives"] == {"parquet_objects_rewritten": 1, "archived_rows": 40}
        assert receipt["stores"]["exports"] == {"export_bundles": 1}
        assert receipt["stores"]["redis"] == {"redis_keys": 1, "answers_naming_player": 0}
        key = gdpr_settings.receipt_key.get_secret_value().encode()
        receipts.verify(receipt, key)
        with pytest.raises(ReceiptInvalid):
            receipts.verify({**receipt, "stores": {**receipt["stores"], "redis": {"redis_keys": 0}}}, key)

        # replay the raw topic from offset 0 through landing: nothing of ana lands again
        replay = land(isolated, read_topic(isolated, RAW_EVENTS.name))
        assert replay.erased == 30 and replay.landed == 0  # the retry copies are duplicates of those 30
        # what ana does after the erase is new data (not suppressed)
        after = events(ana, 3, int(time.time() * 1000) + 1000)
        assert post(url, game.api_key, after)["accepted"] == 3
        assert land(isolated, read_topic(isolated, RAW_EVENTS.name)).landed == 3

    ana_hash = PlayerHasher.of(isolated)(game.game_id, ana)
    with db.connect(isolated, autocommit=True) as conn:
        conn.execute("DELETE FROM player_events WHERE event_id = ANY(%s::uuid[])", ([e["event_id"] for e in after],))
        conn.execute("DELETE FROM players WHERE player_id = %s", (ana,))  # the new data, to search the old
        conn.execute("DELETE FROM sessions WHERE player_id = %s", (ana,))
        conn.execute("DELETE FROM player_daily_activity WHERE player_id = %s", (ana,))
        conn.execute("DELETE FROM rollup_minute_players WHERE player_id = %s", (ana,))
        assert tables_holding(conn, ana) == {}
        assert set(tables_holding(conn, ana_hash)) <= ALLOWED_HASH_TABLES
        assert "player_tombstones" in tables_holding(conn, ana_hash)
        assert per_table_counts(conn, bo) == bo_before  # everybody else untouched
        assert requests.get(conn, erase.request_id).status == "done"
    objects = ObjectStore(s3)
    for key_ in objects.keys(""):
        data = objects.get_bytes(key_)
        assert ana.encode() not in data and ana_hash.encode() not in data, key_
        if key_.endswith(".parquet"):
            table = pq.read_table(io.BytesIO(data))
            assert ana not in table.column("player_id").to_pylist()
            assert bo in table.column("player_id").to_pylist()
    cache = redis.Redis.from_url(isolated.redis_url)
    assert list(cache.scan_iter(match=f"*{ana}*")) == []
    ns = safe_name(isolated.database_schema)
    assert cache.hget(player_key(ns, game.game_id, bo), "m1|rec|k=2") == b"[4,5]"
    cache.delete(player_key(ns, game.game_id, bo))
    # the processed topic (what live views, notifications and the recommender consume) carries no
    # event of ana from before the erase after the erase
    decoder = AvroDeserializer(schema_ids(isolated.schema_registry_url), load_catalog().latest(PROCESSED_EVENTS.value_schema))
    after_ids = {e["event_id"] for e in after}
    old_ids = {e["event_id"] for e in ana_events}
    published = [decoder.decode(m.value) for m in read_topic(isolated, PROCESSED_EVENTS.name)]
    ana_published = [str(e["event"]["event_id"]) for b in published if b["player_id"] == ana for e in b["events"]]
    assert len(ana_published) == 30 + 3 and set(ana_published) == old_ids | after_ids  # once before, never again


def test_suppression_refuses_new_events_until_unsuppressed(isolated, s3, retention_settings, gdpr_settings, tmp_path):
    cy, di = f"cy-{uuid.uuid4().hex[:6]}", f"di-{uuid.uuid4().hex[:6]}"
    with db.connect(isolated, autocommit=True) as conn:
        ensure_partitions(conn)
        game = create_game(conn, f"sup-{uuid.uuid4().hex[:6]}")
        erase = requests.create(conn, PlayerHasher.of(isolated), AuditLog.of(isolated), "erase", game.game_id, cy,
                                "dpo", "art. 17 + 21", suppress=True)
    run_gdpr_now(isolated, s3, retention_settings, gdpr_settings, OtherStages.load(), str(erase.request_id))
    with running_ingest(isolated, tmp_path) as url:
        now = int(time.time() * 1000)
        answer = post(url, game.api_key, events(di, 2, now) + events(cy, 3, now) + [{"event_id": "bad"}])
        assert answer["accepted"] == 2
        assert [r["index"] for r in answer["rejected"]] == [2, 3, 4, 5]
        assert all("suppressed" in r["errors"][0] for r in answer["rejected"][:3])
        # an event of cy that slipped in (as if accepted before ingest's list refreshed) never lands
        landed = land(isolated, read_topic(isolated, RAW_EVENTS.name))
        assert landed.landed == 2
        with db.connect(isolated, autocommit=True) as conn:
            requests.unsuppress(conn, PlayerHasher.of(isolated), AuditLog.of(isolated), game.game_id, cy, "dpo")
        accepted = wait_for(lambda: post(url, game.api_key, events(cy, 1, int(time.time() * 1000)))["accepted"],
                            timeout_s=20, what="cy accepted again after unsuppress")
        assert accepted == 1


def test_a_store_that_fails_marks_the_request_failed_and_the_next_pass_retries_it(
        isolated, s3, retention_settings, gdpr_settings):
    from retention.gdpr import forgetters

    with db.connect(isolated, autocommit=True) as conn:
        erase = requests.create(conn, PlayerHasher.of(isolated), AuditLog.of(isolated), "erase", "g1", "eve", "dpo")

    def broken(_ctx):
        raise RuntimeError("vector store unreachable")

    # the recommender store fails (in place of the real one: a store's name is its step, done once)
    original = list(forgetters.EXTRA_FORGETTERS)
    forgetters.EXTRA_FORGETTERS[:] = [("recommender", broken)]
    try:
        out = run_gdpr_now(isolated, s3, retention_settings, gdpr_settings, OtherStages.load(), str(erase.request_id))
    finally:
        forgetters.EXTRA_FORGETTERS[:] = original
    assert out.failed and out.failed[0][1] == "recommender"
    with db.connect(isolated, autocommit=True) as conn:
        failed = requests.get(conn, erase.request_id)
        assert (failed.status, failed.failing_store, failed.player_id) == ("failed", "recommender", "eve")
    summary = run_pass(isolated, s3, retention_settings, gdpr_settings, OtherStages.load(), progress=False)
    assert summary.gdpr.done == [str(erase.request_id)]
    with db.connect(isolated, autocommit=True) as conn:
        done = requests.get(conn, erase.request_id)
        assert (done.status, done.player_id, done.attempts) == ("done", None, 2)
