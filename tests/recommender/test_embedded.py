"""The recommender as a user runs it on the default setup (the embedded store, no Qdrant server), every
role at once, each a real process on real Kafka, PostgreSQL, Redis and S3:

    ingest + landing worker   players' purchases land in player_events and reach player.events.processed
    serve recommender         owns the embedded store, serves, folds new play in
    recommender train         while the service runs: its writes go through the service's admin API
    gdpr export / erase       while the service runs: the recommender's part goes through the service too

Answers are personal for trained players (their taste group's items they do not own yet), a new
purchase changes them, and the export and the erase succeed and are audited.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from contextlib import ExitStack

import httpx
import pytest

from gamemetrics.envvars import settings_env
from store import db
from tests.helpers import an_event, new_key, post
from tests.recommender.helpers import TOKENS, token
from tests.retention.conftest import s3, s3_server  # noqa: F401 - fixtures of the GDPR export's object store
from tests.services import running_ingest, running_service, running_worker, wait_for

pytestmark = pytest.mark.integration

GROUPS, PER_GROUP, PLAYERS_PER_GROUP, OWNED = 4, 6, 10, 4


def taste_items(group: int) -> list[str]:
    return [f"item-{group * PER_GROUP + i}" for i in range(PER_GROUP)]


def gm(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "operations", *args], env=env, capture_output=True, text=True,
                          timeout=180)


def landed(settings, game_id: str) -> int:
    with db.connect(settings) as conn:
        return conn.execute("SELECT count(*) FROM player_events WHERE game_id = %s", (game_id,)).fetchone()[0]


def test_every_role_runs_while_the_others_run_on_the_embedded_store(isolated, s3, tmp_path):  # noqa: F811
    settings = isolated.model_copy(update={"qdrant_url": "", "state_dir": tmp_path / "state"})
    game_id, api_key = new_key(settings)
    rng = random.Random(7)
    owned = {}
    for g in range(GROUPS):
        for p in range(PLAYERS_PER_GROUP):
            owned[f"g{g}-p{p}"] = (g, rng.sample(taste_items(g), OWNED))
    knobs = {"GAMEMETRICS_GRAPHQL_JWT_SECRET": TOKENS.jwt_secret.get_secret_value(),
             "GAMEMETRICS_RECOMMENDER_FACTORS": "6", "GAMEMETRICS_RECOMMENDER_MODEL_REFRESH_S": "0.5",
             "GAMEMETRICS_RECOMMENDER_WORKER_TAKE_WITHIN_S": "0.1",
             "GAMEMETRICS_S3_ENDPOINT_URL": s3.endpoint_url, "GAMEMETRICS_S3_BUCKET": s3.bucket,
             "GAMEMETRICS_GDPR_RECEIPT_KEY": "embedded-flow-key"}
    with ExitStack() as stack:
        ingest = stack.enter_context(running_ingest(settings, tmp_path))
        stack.enter_context(running_worker(settings, tmp_path))
        api = stack.enter_context(running_service(["serve", "recommender"], settings, tmp_path / "recommender.log",
                                                  lambda r: r.status_code == 200, "/readyz", knobs))
        env = {**os.environ, **settings_env(settings), **knobs, "GAMEMETRICS_RECOMMENDER_SERVICE_URL": api}

        # (1) play lands
        events = [an_event(event_type="purchase", player_id=player, platform="ios", country="DE",
                           properties={"item_id": item, "amount": 0.99, "currency": "USD"})
                  for player, (_, items) in owned.items() for item in items]
        for start in range(0, len(events), 100):
            assert post(ingest, api_key, {"events": events[start:start + 100]}).json()["accepted"] == len(events[start:start + 100])
        wait_for(lambda: landed(settings, game_id) == len(events), timeout_s=60, what="the purchases to land")

        # (2) training while the service runs (it holds the store): written through its admin API
        trained = gm(env, "recommender", "train", "--game", game_id, "--no-progress")
        assert trained.returncode == 0, trained.stderr[-3000:]
        model_id = json.loads(trained.stdout.splitlines()[-1])["model_id"]
        models = gm(env, "recommender", "models", "--game", game_id)
        assert models.returncode == 0 and json.loads(models.stdout.splitlines()[-1])["live"] is True

        # (3) answers are personal: a player's own taste group's items they do not own yet come first
        headers = token([game_id])

        def recommended(player: str) -> dict:
            r = httpx.get(f"{api}/v1/recommendations/{player}", params={"game_id": game_id, "k": 5},
                          headers=headers, timeout=10)
            assert r.status_code == 200, r.text
            return r.json()

        personal = 0
        for player, (group, items) in owned.items():
            body = recommended(player)
            assert body["model_version"] == model_id and body["strategy"] == "personal"
            top = [i["item_id"] for i in body["items"]]
            assert not set(items) & set(top)
            personal += set(top[:2]) == set(taste_items(group)) - set(items)
        assert personal >= 0.8 * len(owned), f"only {personal} of {len(owned)} players got their group's items first"

        # (4) the fold-in (inside the service) consumes new play: a bought item leaves the answer
        player, (group, items) = "g0-p0", owned["g0-p0"]
        before = [i["item_id"] for i in recommended(player)["items"]]
        bought = before[0]
        assert post(ingest, api_key, {"events": [an_event(
            event_type="purchase", player_id=player, platform="ios", country="DE",
            properties={"item_id": bought, "amount": 0.99, "currency": "USD"})]}).json()["accepted"] == 1
        wait_for(lambda: bought not in [i["item_id"] for i in recommended(player)["items"]], timeout_s=60,
                 what="the fold-in to take the purchase into the player's recommendations")

        # (5) GDPR export and erase of another player while all of it runs
        target = "g1-p3"
        exported = gm(env, "gdpr", "export", "--game", game_id, "--player", target)
        assert exported.returncode == 0, exported.stderr[-3000:]
        erased = gm(env, "gdpr", "erase", "--game", game_id, "--player", target)
        assert erased.returncode == 0, erased.stderr[-3000:]
        receipt = json.loads(erased.stdout)["receipt"]
        assert receipt["stores"]["recommender"]["qdrant_points"] == 1, receipt
        after = recommended(target)
        assert after["strategy"] == "popular"
        assert (recommended("g2-p1"))["strategy"] == "personal"  # everyone else is still served

    with db.connect(settings) as conn:
        actions = [row[0] for row in conn.execute(
            "SELECT action FROM audit_log WHERE action LIKE 'recommender.%' ORDER BY seq")]
    assert actions == ["recommender.model_create", "recommender.model_live", "recommender.export",
                       "recommender.forget"]
