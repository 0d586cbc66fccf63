"""What ingest keeps about the sender: a salted hash of the client IP, never the IP itself, and
an ISO country only when a trusted edge header gives one (no GeoIP lookup here)."""

from __future__ import annotations

import hashlib
import secrets

from schemas.event_types import is_country

HASH_HEX_CHARS = 32


class IpHasher:
    def __init__(self, salt: str) -> None:
        self._salt = (salt or secrets.token_hex(16)).encode()

    def __call__(self, ip: str | None) -> str | None:
        if not ip:
            return None
        return hashlib.sha256(self._salt + ip.encode()).hexdigest()[:HASH_HEX_CHARS]


def edge_country(value: str | None) -> str | None:
    """The country from a trusted edge header, if it is a real ISO 3166-1 alpha-2 code."""
    if value is None:
        return None
    code = value.strip().upper()
    return code if is_country(code) else None
