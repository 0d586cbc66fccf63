"""The dashboard in headless Chromium (Debian's ``chromium`` driven by Playwright): it loads, signs in
with a token, draws a month of history, and its live chart moves while events are posted through
ingest and landed by a worker. The screenshot is the picture of the README and the docs
(docs/assets/dashboard.png): made by this test, never by hand."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import sync_playwright

from operations.simulate import Simulator
from store import db
from store.games import NewGame, create_game
from tests.graphql_api.conftest import running_api
from tests.graphql_api.dataset import analyze, insert_history
from tests.services import running_ingest, running_worker

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACT = Path(__file__).resolve().parents[2] / "docs" / "assets" / "dashboard.png"  # the README's and the docs' picture
UI_TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def games(isolated_module) -> list[NewGame]:
    with db.connect(isolated_module) as conn:
        made = [create_game(conn, "Starfall Arena"), create_game(conn, "Nebula Drift")]
        insert_history(conn, made[0].game_id)
        insert_history(conn, made[1].game_id, days=10, seed=3)
        conn.commit()
        analyze(conn)
    return made


@pytest.fixture(scope="module")
def services(isolated_module, games, tmp_path_factory) -> Iterator[tuple[str, str]]:
    logs = tmp_path_factory.mktemp("dashboard-services")
    with running_ingest(isolated_module, logs) as ingest_url, running_worker(isolated_module, logs), \
            running_api(isolated_module, logs) as api_url:
        yield ingest_url, api_url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install chromium` (scripts/test_deps.sh does it)")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Tab:
    page: object
    problems: list[str] = field(default_factory=list)  # uncaught errors and console errors (CSP violations too)


@pytest.fixture
def tab(browser) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, device_scale_factor=1)
    tab = Tab(context.new_page())
    tab.page.set_default_timeout(UI_TIMEOUT_MS)
    tab.page.on("pageerror", lambda error: tab.problems.append(f"page error: {error}"))
    tab.page.on("console", lambda message: message.type == "error" and tab.problems.append(f"console: {message.text}"))
    yield tab
    context.close()


class Poster:
    """Posts simulated sessions to ingest from a thread, ~150 events/s, until stopped."""

    def __init__(self, ingest_url: str, api_key: str) -> None:
        self._url, self._key = ingest_url, api_key
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.accepted = 0
        self.errors: list[str] = []

    def _run(self) -> None:
        simulator = Simulator(players=60, seed=11)
        with httpx.Client(timeout=10, headers={"Authorization": f"Bearer {self._key}"}) as client:
            while not self._stop.is_set():
                events = simulator.next_events(30, int(time.time() * 1000))
                response = client.post(f"{self._url}/v1/events", json={"events": events})
                if response.status_code == 200:
                    self.accepted += response.json()["accepted"]
                else:
                    self.errors.append(f"{response.status_code} {response.text[:200]}")
                self._stop.wait(0.2)

    def __enter__(self) -> "Poster":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(15)


def sign_in(page, api_url: str, token: str) -> None:
    page.goto(f"{api_url}/dashboard")
    page.fill("#token-input", token)
    page.click("#signin-button")


def test_a_bad_token_is_refused_on_the_sign_in_page(services, tab):
    _, api_url = services
    page = tab.page
    sign_in(page, api_url, "not-a-token")
    error = page.locator("#signin-error")
    error.wait_for(state="visible")
    assert "malformed token" in error.inner_text()
    assert page.locator("#app").is_hidden()
    assert all("401" in p for p in tab.problems), tab.problems  # only the refused request itself


def test_the_dashboard_signs_in_draws_history_and_goes_live(services, games, tab, token, tmp_path):
    ingest_url, api_url = services
    page = tab.page
    starfall, nebula = games
    sign_in(page, api_url, token("analyst", [starfall.game_id, nebula.game_id]))
    page.locator("#app").wait_for(state="visible")
    assert page.locator("#game-picker option").all_inner_texts() == ["Nebula Drift", "Starfall Arena"]
    page.select_option("#game-picker", starfall.game_id)

    # history: charts with axes and units, a retention table, a funnel, outcomes per mode
    page.wait_for_function("() => document.querySelectorAll('#dau-chart path.line').length >= 1")
    assert page.locator("#dau-chart .axis-title").text_content() == "players"
    assert page.locator("#revenue-chart .axis-title").text_content() == "USD"
    assert page.locator("#revenue-chart rect.bar").count() >= 25
    page.wait_for_function("() => document.querySelectorAll('#retention-table tbody tr').length >= 10")
    assert page.locator("#retention-table th").all_inner_texts() == [
        "Cohort", "Players", "Day 1", "Day 3", "Day 7", "Day 14", "Day 30"]
    page.wait_for_function("() => document.querySelectorAll('#funnel-chart rect.funnel-bar').length === 3")
    page.wait_for_function("() => document.querySelectorAll('#fairness-chart rect.win').length >= 4")
    assert page.locator("#fairness-chart text.value").first.text_content() in {"ranked", "casual", "arena", "co-op"}
    assert page.locator("#kpi-stickiness").inner_text().endswith("%")
    assert page.locator("#kpi-revenue").inner_text().startswith("$")
    assert page.locator("#live-status").inner_text() == "Live"

    # live: post events through ingest -> worker -> player.events.processed -> subscription -> chart
    assert page.locator("#live-chart").get_attribute("data-max") in (None, "0")
    with Poster(ingest_url, starfall.api_key) as poster:
        page.wait_for_function("() => Number(document.querySelector('#live-chart').dataset.max || 0) > 0",
                               timeout=90_000)
        page.wait_for_function("() => Number(document.querySelector('#live-chart').dataset.points) >= 8")
        page.wait_for_function("() => document.querySelector('#kpi-active').textContent !== '0'")
        # the range picker reloads the history panels, today's landed players included
        page.select_option("#range-picker", "14")
        page.wait_for_function("() => document.querySelectorAll('#revenue-chart rect.bar').length <= 15")
        page.select_option("#range-picker", "30")
        page.wait_for_function("() => document.querySelectorAll('#revenue-chart rect.bar').length >= 25")
        page.wait_for_function("() => Number(document.querySelector('#live-chart').dataset.points) >= 20")
        shot = tmp_path / "dashboard.png"
        page.screenshot(path=str(shot), full_page=True)
    assert poster.accepted > 0 and not poster.errors, poster.errors
    assert int(page.locator("#kpi-active").inner_text().replace(",", "")) > 0
    assert page.locator("#live-chart .axis-title").text_content() == "events / s"
    assert tab.problems == []
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, ARTIFACT)

    # the picker switches game: the chart starts over with the quiet game's numbers
    page.select_option("#game-picker", nebula.game_id)
    page.wait_for_function("() => Number(document.querySelector('#live-chart').dataset.points) >= 2")
    assert page.locator("#live-chart").get_attribute("data-max") == "0"
    assert page.locator("#kpi-active").inner_text() == "0"
