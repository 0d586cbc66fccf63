"""Games and their API keys. A key identifies its game; only its sha256 is stored (keys are
random 256-bit tokens, so a fast hash is the right tool, unlike for passwords)."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg

from store.errors import StoreError

KEY_PREFIX = "gm_"


@dataclass(frozen=True)
class NewGame:
    game_id: str
    name: str
    api_key: str


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:40] or "game"


def create_game(conn: psycopg.Connection, name: str) -> NewGame:
    """Create a game and its first API key; the key is returned once and never stored."""
    game_id = f"{_slug(name)}-{secrets.token_hex(3)}"
    api_key = KEY_PREFIX + secrets.token_urlsafe(32)
    try:
        with conn.transaction():
            conn.execute("INSERT INTO games (game_id, name) VALUES (%s, %s)", (game_id, name))
            conn.execute("INSERT INTO api_keys (key_hash, game_id) VALUES (%s, %s)", (hash_key(api_key), game_id))
    except psycopg.errors.UniqueViolation as exc:
        raise StoreError(f"a game named {name!r} already exists; pick another name") from exc
    return NewGame(game_id, name, api_key)


def rotate_key(conn: psycopg.Connection, game_id: str, grace: timedelta) -> str:
    """Issue a new key; the game's current keys stay valid for ``grace``, then expire."""
    api_key = KEY_PREFIX + secrets.token_urlsafe(32)
    with conn.transaction():
        if conn.execute("SELECT 1 FROM games WHERE game_id = %s", (game_id,)).fetchone() is None:
            raise StoreError(f"no game {game_id!r}; `gamemetrics games list` shows the games")
        conn.execute(
            "UPDATE api_keys SET expires_at = now() + %s WHERE game_id = %s AND (expires_at IS NULL OR expires_at > now() + %s)",
            (grace, game_id, grace),
        )
        conn.execute("INSERT INTO api_keys (key_hash, game_id) VALUES (%s, %s)", (hash_key(api_key), game_id))
    return api_key


def list_games(conn: psycopg.Connection) -> list[tuple[str, str, datetime, int]]:
    """(game_id, name, created_at, keys still valid) of every game."""
    return conn.execute(
        "SELECT g.game_id, g.name, g.created_at, count(k.key_hash) FILTER (WHERE k.expires_at IS NULL OR k.expires_at > now()) "
        "FROM games g LEFT JOIN api_keys k USING (game_id) GROUP BY 1, 2, 3 ORDER BY g.created_at"
    ).fetchall()


# (game_id, seconds until the key expires or NULL) of a valid key, by key hash; ingest caches by it
KEY_LOOKUP = (
    "SELECT game_id, extract(epoch FROM expires_at - now()) FROM api_keys "
    "WHERE key_hash = %s AND (expires_at IS NULL OR expires_at > now())"
)


def game_for_key(conn: psycopg.Connection, api_key: str) -> str | None:
    """The game an API key belongs to, or None when the key is unknown or expired."""
    row = conn.execute(KEY_LOOKUP, (hash_key(api_key),)).fetchone()
    return row[0] if row else None


def known_game_ids(conn: psycopg.Connection, game_ids: list[str]) -> set[str]:
    """Which of ``game_ids`` are games in the store."""
    return {row[0] for row in conn.execute("SELECT game_id FROM games WHERE game_id = ANY(%s)", (game_ids,))}
