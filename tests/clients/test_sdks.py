"""The official SDKs, unmodified, against a running ingest, the real Kafka and a landing worker.

Segment's Python SDK (segment-analytics-python, ``host=``), Segment's Node SDK
(@segment/analytics-node, ``host``) and the GameAnalytics JavaScript SDK (npm ``gameanalytics``) in
headless Chromium on a page of another origin, its collector URLs set before ``initialize()``. Each
test counts the rows landed for its own player: exactly one per message, and a resend (the same
message ids, the same signed bytes) stores nothing more. The npm packages are pinned in
tests/clients/js/package-lock.json (``npm ci``: scripts/bootstrap.sh, or this module when absent).
"""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from store import db
from store.gameanalytics import issue_key_pair
from store.secret_box import SecretBox
from tests.helpers import group_caught_up, new_key
from tests.services import running_ingest, running_worker, wait_for

pytestmark = pytest.mark.integration

JS = Path(__file__).parent / "js"
CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def node_modules() -> Path:
    if not (JS / "node_modules" / ".package-lock.json").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=JS, check=True, timeout=300)
    return JS / "node_modules"


@pytest.fixture(scope="module")
def stack(isolated_module, tmp_path_factory):
    """(ingest URL, game id, API key, GameAnalytics pair) with a landing worker running."""
    settings = isolated_module
    game_id, api_key = new_key(settings)
    with db.connect(settings, autocommit=True) as conn:
        pair = issue_key_pair(conn, game_id, SecretBox(settings.secret_box_key.get_secret_value()))
    logs = tmp_path_factory.mktemp("clients")
    with running_ingest(settings, logs) as url, running_worker(settings, logs):
        yield url, game_id, api_key, pair


def rows(settings, game_id: str, player: str) -> list[tuple[str, str]]:
    with db.connect(settings) as conn:
        return conn.execute(
            "SELECT event_type, event_id::text FROM player_events WHERE game_id = %s AND player_id = %s ORDER BY event_id",
            (game_id, player),
        ).fetchall()


def landed(settings, game_id: str, player: str, expected: int) -> list[tuple[str, str]]:
    """The player's rows once ``expected`` have landed and the worker has caught up (then no more may come)."""
    wait_for(lambda: len(rows(settings, game_id, player)) >= expected, 90, f"{expected} rows of {player}")
    wait_for(lambda: group_caught_up(settings), 60, "the landing worker to catch up")
    return rows(settings, game_id, player)


def test_segment_python_sdk_lands_each_message_once(stack, isolated_module):
    from segment.analytics.client import Client

    url, game_id, api_key, _ = stack
    player = f"py-{uuid.uuid4().hex[:8]}"
    errors: list = []
    at = datetime.now(timezone.utc) - timedelta(seconds=30)  # a resend is the same message: same id, same time

    def send() -> None:
        client = Client(api_key, host=url, gzip=True, on_error=lambda e, batch: errors.append(e), max_retries=3)
        for i in range(5):
            client.track(user_id=player, event="Level Up", properties={"level": i}, message_id=f"{player}-{i}",
                         timestamp=at + timedelta(seconds=i))
        client.track(user_id=player, event="Order Completed", message_id=f"{player}-order",
                     properties={"order_id": "o-1", "revenue": 4.99, "currency": "EUR", "products": [{"product_id": "gems"}]}, timestamp=at)
        client.identify(user_id=player, traits={"plan": "vip"}, message_id=f"{player}-identify", timestamp=at)
        client.screen(user_id=player, name="Shop", message_id=f"{player}-screen", timestamp=at)
        client.flush()
        client.join()

    send()
    assert errors == []
    first = landed(isolated_module, game_id, player, 8)
    assert sorted(t for t, _ in first) == sorted(["custom.Level_Up"] * 5 + ["purchase", "custom.identify", "custom.screen"])
    send()  # the same message ids again: nothing more is stored
    assert errors == []
    wait_for(lambda: group_caught_up(isolated_module), 60, "the landing worker to catch up")
    assert rows(isolated_module, game_id, player) == first


def test_segment_node_sdk_lands_each_message_once(stack, isolated_module, node_modules):
    url, game_id, api_key, _ = stack
    player = f"node-{uuid.uuid4().hex[:8]}"
    node = shutil.which("node")
    assert node, "node is missing: scripts/bootstrap.sh installs nodejs"
    at = str(int(time.time() * 1000) - 30_000)
    for _ in range(2):  # the second run resends the same messages (ids and times)
        done = subprocess.run([node, str(JS / "segment_node.js"), url, api_key, player, "6", at], cwd=JS,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        landed_rows = landed(isolated_module, game_id, player, 7)
        assert sorted(t for t, _ in landed_rows) == sorted(["custom.Level_Up"] * 6 + ["custom.identify"])


PAGE = """<!doctype html><meta charset="utf-8"><title>GA test game</title>
<script src="GameAnalytics.js"></script>
<script>
  const ga = gameanalytics, GA = ga.GameAnalytics;
  ga.http.GAHTTPApi.instance.baseUrl = "{ingest}/v2";
  ga.http.GAHTTPApi.instance.remoteConfigsBaseUrl = "{ingest}/remote_configs/v1";
  GA.setEnabledInfoLog(true);
  GA.setEventProcessInterval(1);
  GA.configureBuild("1.0.3");
  GA.configureUserId("{player}");
  GA.configureAvailableResourceCurrencies(["gold"]);
  GA.configureAvailableResourceItemTypes(["reward"]);
  GA.initialize("{game_key}", "{secret_key}");
  GA.addDesignEvent("Kill:Robot", 3);
  GA.addProgressionEvent(ga.EGAProgressionStatus.Complete, "world01", "level01", 900);
  GA.addBusinessEvent("USD", 499, "gems", "pack500", "shop");
  GA.addResourceEvent(ga.EGAResourceFlowType.Source, "gold", 100, "reward", "quest");
  GA.addErrorEvent(ga.EGAErrorSeverity.Warning, "low memory");
</script>"""
GA_TYPES = ["session_start", "custom.design", "progression", "purchase", "resource", "error"]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def test_gameanalytics_js_sdk_in_chromium_from_another_origin(stack, isolated_module, node_modules, tmp_path):
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install chromium` (scripts/bootstrap.sh does it)")
    url, game_id, _, pair = stack
    player = f"ga-{uuid.uuid4().hex[:8]}"
    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(node_modules / "gameanalytics" / "dist" / "GameAnalytics.js", site / "GameAnalytics.js")
    (site / "index.html").write_text(PAGE.replace("{ingest}", url).replace("{player}", player)
                                     .replace("{game_key}", pair.game_key).replace("{secret_key}", pair.secret_key))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    assert origin != url  # another origin: every request to the ingest is cross-origin (preflighted)
    sent: list[tuple[bytes, dict[str, str]]] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
            page = browser.new_page()
            page.on("request", lambda r: sent.append((r.post_data_buffer, r.headers))
                    if r.method == "POST" and r.url.endswith("/events") else None)
            page.goto(f"{origin}/index.html")
            found = landed(isolated_module, game_id, player, len(GA_TYPES))
            page.evaluate("gameanalytics.GameAnalytics.endSession()")
            found = landed(isolated_module, game_id, player, len(GA_TYPES) + 1)
            browser.close()
    finally:
        server.shutdown()
    assert sorted(t for t, _ in found) == sorted([*GA_TYPES, "session_end"])
    # the SDK's own signed bytes sent again (as it does after a lost answer): stored once
    assert sent
    for body, headers in sent:
        again = httpx.post(f"{url}/v2/{pair.game_key}/events", content=body,
                           headers={"Authorization": headers["authorization"], "Content-Type": "application/json"})
        assert again.status_code == 200, again.text
    wait_for(lambda: group_caught_up(isolated_module), 60, "the landing worker to catch up")
    assert rows(isolated_module, game_id, player) == found
