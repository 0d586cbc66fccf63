"""Issue 21's end-to-end erase, with everything running: ingest, a landing worker with the notification
agents (a webhook rule firing for the player), the recommender API and its fold-in, recommendations and
similar players cached; on a Qdrant server (the fold-in a worker of its own) and on the embedded store (the
service owns it and folds in; the erase reaches it through the service's admin API: recommender/port.py). The player is erased while their events are in
flight; afterwards no table, Qdrant point, Redis key or cached answer holds them, other players'
answers do not name them, and other players keep everything. The receipt verifies and a forged one
does not; an audit row edited with the triggers disabled is caught."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from contextlib import ExitStack

import httpx
import pytest
import redis

from gamemetrics.envvars import settings_env
from processors.notifications.rules import Rule
from processors.notifications.rules_store import add_rule
from retention.errors import ReceiptInvalid
from retention.gdpr import receipts
from store import db
from store.audit import AuditLog
from tests.ingest.test_api import an_event, new_key, post
from tests.processors.notifications.receivers import HttpReceiver
from tests.recommender.helpers import REC, TOKENS, token, train_simulated
from tests.retention.test_gdpr import tables_holding
from tests.services import _spawn, _stop, running_ingest, running_service, running_worker, wait_for
from recommender.port import open_store
from recommender.vectors import VectorStore
from tests.recommender.conftest import qdrant_server  # noqa: F401  (the session's Qdrant server)

pytestmark = pytest.mark.integration

KNOBS = {"GAMEMETRICS_GRAPHQL_JWT_SECRET": TOKENS.jwt_secret.get_secret_value(),
         "GAMEMETRICS_RECOMMENDER_FACTORS": str(REC.factors), "GAMEMETRICS_RECOMMENDER_MODEL_REFRESH_S": "0.5",
         "GAMEMETRICS_RECOMMENDER_WORKER_METRICS_PORT": "0", "GAMEMETRICS_RECOMMENDER_WORKER_TAKE_WITHIN_S": "0.1"}
RECEIPT_KEY = "e2e-receipt-key"


@pytest.mark.parametrize("vectors", ["server", "embedded"])
def test_an_erase_with_everything_running_leaves_nothing_and_takes_nothing_from_others(
        isolated, qdrant_server, s3, tmp_path, vectors):
    if vectors == "server" and qdrant_server is None:
        pytest.skip("no Qdrant server bundle (../shared/qdrant)")
    settings = isolated.model_copy(update={"qdrant_url": qdrant_server if vectors == "server" else "",
                                           "state_dir": tmp_path / "state"})
    game_id, api_key = new_key(settings)

    async def train():
        store = VectorStore.open(settings, REC)
        try:
            return await train_simulated(store, game_id)
        finally:
            await store.close()

    trained = asyncio.run(train())
    ana, bo = trained.matrix.player_ids[0], trained.matrix.player_ids[1]
    item = trained.matrix.item_ids[0]
    headers = token([game_id])
    with HttpReceiver() as hooks, ExitStack() as stack:
        with db.connect(settings, autocommit=True) as conn:
            add_rule(conn, Rule("crm", "purchase", "webhook", "bought ${item_id}", f"{hooks.url}/hooks/buy",
                                game_id=game_id))
        env = {**KNOBS, "GAMEMETRICS_NOTIFY_WEBHOOK_SECRET": "e2e-webhook-secret-0123456789abcdef"}
        ingest = stack.enter_context(running_ingest(settings, tmp_path))
        stack.enter_context(running_worker(settings, tmp_path, extra_env=env))
        api = stack.enter_context(running_service(["serve", "recommender"], settings, tmp_path / "recommender.log",
                                                  lambda r: r.status_code == 200, "/readyz", env))
        if vectors == "server":  # on the embedded store the service folds in itself
            fold = _spawn(["recommender", "worker"], settings, tmp_path / "recommender-worker.log", env)
            stack.callback(_stop, fold)

        def similar(player: str) -> list[str]:
            r = httpx.get(f"{api}/v1/players/{player}/similar", params={"game_id": game_id, "k": 300},
                          headers=headers, timeout=10)
            assert r.status_code == 200, r.text
            return [p["player_id"] for p in r.json()["players"]]

        def recommend(player: str) -> int:
            return httpx.get(f"{api}/v1/recommendations/{player}", params={"game_id": game_id}, headers=headers,
                             timeout=10).status_code

        assert recommend(ana) == 200 and recommend(bo) == 200
        assert ana in similar(bo)  # bo's cached answer names ana
        buy = lambda p: an_event(event_type="purchase", player_id=p,  # noqa: E731
                                 properties={"item_id": item, "amount": 1.99, "currency": "USD"})
        assert post(ingest, api_key, {"events": [buy(ana), buy(bo)]}).json()["accepted"] == 2
        wait_for(lambda: len(hooks.at("/hooks/buy")) >= 2, 60, "both purchase webhooks")

        # the erase, with ana's events in flight (posted just before it, and while it runs)
        assert post(ingest, api_key, {"events": [buy(ana) for _ in range(5)]}).json()["accepted"] == 5
        job_env = {**os.environ, **settings_env(settings), **KNOBS, "GAMEMETRICS_RECOMMENDER_SERVICE_URL": api,
                   "GAMEMETRICS_S3_ENDPOINT_URL": s3.endpoint_url,
                   "GAMEMETRICS_S3_BUCKET": s3.bucket, "GAMEMETRICS_GDPR_RECEIPT_KEY": RECEIPT_KEY}
        erase = subprocess.Popen([sys.executable, "-m", "operations", "gdpr", "erase", "--game", game_id,
                                  "--player", ana, "--requester", "dpo", "--suppress"],
                                 env=job_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        post(ingest, api_key, {"events": [buy(ana) for _ in range(5)]})
        out, err = erase.communicate(timeout=180)
        assert erase.returncode == 0, out + err
        assert ana not in out + err  # the job's output and log lines carry the hash, never the id
        receipt = json.loads(out)["receipt"]
        receipts.verify(receipt, RECEIPT_KEY.encode())
        with pytest.raises(ReceiptInvalid):
            receipts.verify({**receipt, "stores": {}}, RECEIPT_KEY.encode())

        # events still in flight land nothing; a suppressed player's new events are refused once the ingest's
        # suppression list refreshes (ingest.suppression: every 5 s; until then landing buries them)
        def refused_at_the_door() -> bool:
            after = post(ingest, api_key, {"events": [buy(ana), buy(bo)]}).json()
            return after["accepted"] == 1 and "suppressed" in after["rejected"][0]["errors"][0]

        wait_for(refused_at_the_door, 15, "the ingest to refuse the suppressed player")
        wait_for(lambda: len(hooks.at("/hooks/buy")) >= 3, 60, "bo's later webhook")
        time.sleep(3)  # let the workers drain what was in flight

        with db.connect(settings, autocommit=True) as conn:
            assert tables_holding(conn, ana) == {}
            assert conn.execute("SELECT count(*) FROM player_events WHERE player_id = %s", (bo,)).fetchone()[0] >= 2
            assert conn.execute("SELECT count(*) FROM notification_deliveries WHERE player_id = %s",
                                (bo,)).fetchone()[0] >= 2
        assert recommend(bo) == 200 and ana not in similar(bo)
        client = redis.Redis.from_url(settings.redis_url)
        try:
            # this game's keys only: other tests' games may hold a player of the same simulated id
            assert [k for k in client.scan_iter(match=f"*:{game_id}:*{ana}*")] == []
            for key in client.scan_iter(match=f"gm:*:rec:{game_id}:*"):
                if client.type(key) == b"hash":
                    assert all(ana.encode() not in v for v in client.hvals(key)), key
        finally:
            client.close()

        async def points() -> tuple[int, int]:  # embedded: through the service that owns the store
            store = open_store(settings, REC.model_copy(update={"service_url": api}), TOKENS, subject="e2e-test")
            try:
                return await store.count_player(game_id, ana), await store.count_player(game_id, bo)
            finally:
                await store.close()

        assert asyncio.run(points()) == (0, 1)

    # an audit row edited with the triggers disabled is caught
    with db.connect(settings, autocommit=True) as conn:
        assert AuditLog.of(settings).verify(conn).intact
        with conn.transaction():
            conn.execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
            conn.execute("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 1")
            conn.execute("ALTER TABLE audit_log ENABLE TRIGGER USER")
        assert not AuditLog.of(settings).verify(conn).intact
