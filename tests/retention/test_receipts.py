"""retention/gdpr/receipts.py and `gamemetrics gdpr receipt verify`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from retention.errors import ReceiptInvalid
from retention.gdpr.receipts import sign, verify

KEY = b"k"
BODY = {"request_id": "r1", "kind": "erase", "stores": {"postgresql": {"player_events": 30}},
        "completed_at": "2026-12-01T10:00:00+00:00"}


def test_a_signed_receipt_verifies_and_any_change_does_not():
    receipt = sign(BODY, KEY)
    verify(receipt, KEY)
    verify(json.loads(json.dumps(receipt, indent=4)), KEY)  # formatting does not matter
    for tampered in ({**receipt, "kind": "export"}, {**receipt, "stores": {"postgresql": {"player_events": 3}}},
                     {k: v for k, v in receipt.items() if k != "completed_at"}):
        with pytest.raises(ReceiptInvalid):
            verify(tampered, KEY)
    with pytest.raises(ReceiptInvalid):
        verify(receipt, b"another key")


def test_the_cli_says_valid_or_invalid(tmp_path):
    receipt = sign(BODY, b"cli-key")
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps({"receipt": receipt}))  # the output of `gdpr erase` as it is
    bad.write_text(json.dumps({**receipt, "request_id": "r2"}))
    env = {**os.environ, "GAMEMETRICS_GDPR_RECEIPT_KEY": "cli-key"}
    ok = subprocess.run([sys.executable, "-m", "operations", "gdpr", "receipt", "verify", str(good)], env=env,
                        capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout.startswith("valid: erase request r1"), ok.stderr
    no = subprocess.run([sys.executable, "-m", "operations", "gdpr", "receipt", "verify", str(bad)], env=env,
                        capture_output=True, text=True)
    assert no.returncode == 1 and "invalid: the signature does not match" in no.stderr
