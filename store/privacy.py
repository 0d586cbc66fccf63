"""Keyed hashes of player ids: what every table keeps once a player is erased (tombstones, GDPR
requests, receipts, the audit log). HMAC-SHA256 under ``Settings.privacy_key``: without the key
nobody can confirm a guessed id against a hash, and the same id always gives the same hash, so
landing and ingest find a tombstone by it."""

from __future__ import annotations

import hashlib
import hmac

from gamemetrics.settings import Settings

SEPARATOR = "\x1f"  # unit separator: no game id or player id contains it


class PlayerHasher:
    """``hasher(game_id, player_id)`` -> 64 hex characters; a player is a player of one game."""

    def __init__(self, key: bytes) -> None:
        if not key:
            raise ValueError("the privacy key is empty; set GAMEMETRICS_PRIVACY_KEY")
        self._key = key

    @classmethod
    def of(cls, settings: Settings) -> "PlayerHasher":
        return cls(settings.privacy_key.get_secret_value().encode())

    def __call__(self, game_id: str, player_id: str) -> str:
        message = f"{game_id}{SEPARATOR}{player_id}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()
