"""Secrets we must read back (unlike API keys, which are only ever compared by hash): encrypted at rest.

A GameAnalytics secret key is the HMAC key of every request its SDK sends, so the ingest needs the
secret itself. It is stored encrypted with Fernet (AES-128-CBC + HMAC-SHA256, authenticated: a
changed ciphertext fails to open rather than yield another secret) under a key derived from
``Settings.secret_box_key`` (SHA-256 of it). Who reads the table without that setting learns
nothing; who has both can read the secrets, so the setting is held like a password (a secret
store / Kubernetes Secret), never in the database.
"""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken

from store.errors import StoreError

if TYPE_CHECKING:
    from gamemetrics.settings import Settings


class SecretBox:
    def __init__(self, key: str) -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()))

    @classmethod
    def of(cls, settings: Settings) -> SecretBox:
        """The box of ``settings``; outside the local stack a public default or short key is refused
        (``gamemetrics.keys.InsecureKey``): a default would open every stored secret."""
        from gamemetrics.keys import require_strong
        from gamemetrics.settings import secret_box_keys

        require_strong(settings.env, secret_box_keys(settings))
        return cls(settings.secret_box_key.get_secret_value())

    def seal(self, secret: str) -> bytes:
        return self._fernet.encrypt(secret.encode())

    def open(self, sealed: bytes) -> str:
        try:
            return self._fernet.decrypt(bytes(sealed)).decode()
        except InvalidToken as exc:
            raise StoreError("a stored secret cannot be decrypted: GAMEMETRICS_SECRET_BOX_KEY is not the key it was sealed with") from exc
