"""Each game's GameAnalytics key pair: the SDK's shape, the secret sealed at rest, the CLI's JSON."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from store import db
from store.errors import StoreError
from store.gameanalytics import GAME_KEY_LOOKUP, issue_key_pair, key_pair
from store.secret_box import SecretBox
from tests.helpers import new_key
from tests.services import settings_env

pytestmark = pytest.mark.integration


def test_pair_has_the_sdk_shape_and_the_secret_is_sealed(isolated):
    game_id, _ = new_key(isolated)
    box = SecretBox(isolated.secret_box_key.get_secret_value())
    with db.connect(isolated, autocommit=True) as conn:
        pair = issue_key_pair(conn, game_id, box)
        assert re.fullmatch(r"[A-Za-z0-9]{32}", pair.game_key) and re.fullmatch(r"[A-Za-z0-9]{40}", pair.secret_key)
        assert key_pair(conn, game_id, box) == pair
        found, sealed = conn.execute(GAME_KEY_LOOKUP, (pair.game_key,)).fetchone()
        assert found == game_id and pair.secret_key.encode() not in bytes(sealed)
        with pytest.raises(StoreError, match="SECRET_BOX_KEY"):
            SecretBox("another key").open(sealed)
        again = issue_key_pair(conn, game_id, box)  # a new pair replaces the old one
        assert again != pair and conn.execute(GAME_KEY_LOOKUP, (pair.game_key,)).fetchone() is None
        with pytest.raises(StoreError, match="no game"):
            issue_key_pair(conn, "no-such-game", box)


def test_games_create_prints_the_pair_and_gameanalytics_keys_prints_it_again(isolated):
    env = {**os.environ, **settings_env(isolated)}

    def cli(*args: str) -> dict:
        done = subprocess.run([sys.executable, "-m", "operations", "games", *args], env=env, capture_output=True,
                              text=True, timeout=120, check=True)
        return json.loads(done.stdout.strip().splitlines()[-1])

    created = cli("create", "Pair Game")
    pair = created["gameanalytics"]
    assert len(pair["game_key"]) == 32 and len(pair["secret_key"]) == 40 and created["api_key"].startswith("gm_")
    assert cli("gameanalytics-keys", created["game_id"])["gameanalytics"] == pair
    assert cli("gameanalytics-keys", created["game_id"], "--new")["gameanalytics"] != pair
