"""Helpers of ``gamemetrics demo``: the demo game, readiness wait and a summary of what landed."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path

import httpx

from operations.errors import StackError
from gamemetrics.settings import Settings
from store import db
from store.games import create_game, game_for_key

READY_TIMEOUT_S = 60.0


def wait_for_ingest(url: str, timeout_s: float = READY_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise StackError(f"the ingest service at {url} was not ready within {timeout_s:.0f}s; see its log")


def demo_game(settings: Settings, run_dir: Path) -> dict[str, str]:
    """The demo game, created on first use; its key is kept in the state dir (local demo only)."""
    path = run_dir / "demo-game.json"
    with db.connect(settings) as conn:
        if path.exists():
            game = json.loads(path.read_text())
            if game_for_key(conn, game["api_key"]) == game["game_id"]:
                return game
        created = create_game(conn, f"Demo game {int(time.time())}")
    game = {"game_id": created.game_id, "api_key": created.api_key}
    run_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(game))
    path.chmod(0o600)
    return game


def wait_for_landing(settings: Settings, game_id: str, since: datetime, expected: int, timeout_s: float = 60.0) -> int:
    """Rows of ``game_id`` received since ``since``, once they reach ``expected`` or time runs out."""
    deadline = time.monotonic() + timeout_s
    while True:
        with db.connect(settings) as conn:
            landed = conn.execute(
                "SELECT count(*) FROM player_events WHERE game_id = %s AND received_at >= %s", (game_id, since)
            ).fetchone()[0]
        if landed >= expected or time.monotonic() > deadline:
            return landed
        time.sleep(0.5)


def landed_summary(settings: Settings, game_id: str) -> str:
    with db.connect(settings) as conn:
        rows = conn.execute(
            "SELECT event_type, count(*) FROM player_events WHERE game_id = %s GROUP BY 1 ORDER BY 2 DESC",
            (game_id,),
        ).fetchall()
    total = sum(n for _, n in rows)
    lines = [f"landed in PostgreSQL for {game_id}: {total} events"]
    lines += [f"  {event_type:<22} {n:>9}" for event_type, n in rows]
    return "\n".join(lines)


def demo_token(game_id: str) -> str:
    """An analyst token for the demo game, valid 24 h (signed with the API's configured secret)."""
    from datetime import timedelta

    from graphql_api.auth import issue_token
    from graphql_api.settings import load_graphql_settings

    return issue_token(load_graphql_settings(), "analyst", [game_id], timedelta(hours=24), subject="demo")
