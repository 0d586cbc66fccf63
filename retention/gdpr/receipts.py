"""Signed receipts: what was removed (or exported) from each store, when, signed with
HMAC-SHA256 under ``GAMEMETRICS_GDPR_RECEIPT_KEY`` over the receipt's canonical JSON (sorted
keys, no spaces). ``verify`` recomputes it; any edited field fails."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from retention.errors import ReceiptInvalid

ALGORITHM = "HMAC-SHA256"


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


def sign(body: dict[str, Any], key: bytes) -> dict[str, Any]:
    unsigned = {k: v for k, v in body.items() if k != "signature"}
    unsigned["algorithm"] = ALGORITHM
    unsigned = json.loads(_canonical(unsigned))  # exactly what a reader will parse back
    return {**unsigned, "signature": hmac.new(key, _canonical(unsigned), hashlib.sha256).hexdigest()}


def verify(receipt: dict[str, Any], key: bytes) -> None:
    """Raise ReceiptInvalid unless the signature matches the receipt's content."""
    signature = receipt.get("signature")
    if not isinstance(signature, str):
        raise ReceiptInvalid("the receipt has no signature")
    if receipt.get("algorithm") != ALGORITHM:
        raise ReceiptInvalid(f"unknown algorithm {receipt.get('algorithm')!r} (expected {ALGORITHM})")
    unsigned = {k: v for k, v in receipt.items() if k != "signature"}
    expected = hmac.new(key, _canonical(unsigned), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise ReceiptInvalid("the signature does not match the receipt's content: it was altered or signed with another key")
