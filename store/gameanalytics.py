"""Each game's GameAnalytics-format key pair, for the GameAnalytics collector API (ingest.gameanalytics).

The GameAnalytics SDKs refuse any other shape: a game key of 32 and a secret key of 40 characters,
both ``[A-Za-z0-9]``. The game key names the game in the request path (stored as is, unique); the
secret key signs every body (HMAC-SHA256), so it is stored encrypted (``store.secret_box``), not
hashed. Issuing a new pair replaces the old one at once (SDK builds holding the old pair stop
being accepted).
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass

import psycopg

from store.errors import StoreError
from store.secret_box import SecretBox

ALPHABET = string.ascii_letters + string.digits
GAME_KEY_LENGTH = 32
SECRET_KEY_LENGTH = 40


@dataclass(frozen=True)
class KeyPair:
    game_key: str
    secret_key: str

    def as_json(self) -> dict[str, str]:
        return {"game_key": self.game_key, "secret_key": self.secret_key}


def _token(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def issue_key_pair(conn: psycopg.Connection, game_id: str, box: SecretBox) -> KeyPair:
    """A new pair for ``game_id`` (replacing any previous one)."""
    pair = KeyPair(_token(GAME_KEY_LENGTH), _token(SECRET_KEY_LENGTH))
    row = conn.execute(
        "UPDATE games SET ga_game_key = %s, ga_secret_sealed = %s WHERE game_id = %s RETURNING game_id",
        (pair.game_key, box.seal(pair.secret_key), game_id),
    ).fetchone()
    if row is None:
        raise StoreError(f"no game {game_id!r}; `gamemetrics games list` shows the games")
    return pair


def key_pair(conn: psycopg.Connection, game_id: str, box: SecretBox) -> KeyPair | None:
    """The game's current pair, None when it has none yet."""
    row = conn.execute("SELECT ga_game_key, ga_secret_sealed FROM games WHERE game_id = %s", (game_id,)).fetchone()
    if row is None:
        raise StoreError(f"no game {game_id!r}; `gamemetrics games list` shows the games")
    return None if row[0] is None else KeyPair(row[0], box.open(row[1]))


# (game_id, sealed secret) by GameAnalytics game key; the ingest caches by it
GAME_KEY_LOOKUP = "SELECT game_id, ga_secret_sealed FROM games WHERE ga_game_key = %s"
