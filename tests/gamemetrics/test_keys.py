"""Production key checks (gamemetrics/keys.py): outside the local stack no process starts on a
public default or a short key, and the error names the setting (issue 21, item 2)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pydantic import SecretStr

from gamemetrics.keys import InsecureKey, Key, require_strong, weak_keys
from gamemetrics.settings import DEVELOPMENT_JWT_SECRET, LOCAL_PRIVACY_KEY, Settings, core_keys

STRONG = "x" * 40


def test_public_and_short_keys_are_named_and_strong_ones_pass():
    keys = [Key("GAMEMETRICS_PRIVACY_KEY", SecretStr(LOCAL_PRIVACY_KEY), LOCAL_PRIVACY_KEY),
            Key("GAMEMETRICS_AUDIT_KEY", SecretStr("short"), "default"),
            Key("GAMEMETRICS_GRAPHQL_JWT_SECRET", SecretStr("compose-development-secret-change-me-0123456789"),
                DEVELOPMENT_JWT_SECRET),
            Key("GAMEMETRICS_GDPR_RECEIPT_KEY", SecretStr(STRONG), "default")]
    problems = weak_keys(keys)
    assert len(problems) == 3
    assert "GAMEMETRICS_PRIVACY_KEY is a public default" in problems[0]
    assert "GAMEMETRICS_AUDIT_KEY is 5 bytes" in problems[1]
    assert "GAMEMETRICS_GRAPHQL_JWT_SECRET is a public default" in problems[2]  # the old 47-byte Compose default


def test_production_refuses_and_local_only_warns():
    defaults = Settings()
    assert require_strong("local", core_keys(defaults))  # the local stack keeps working on its defaults
    with pytest.raises(InsecureKey, match="GAMEMETRICS_PRIVACY_KEY.*GAMEMETRICS_AUDIT_KEY"):
        require_strong("production", core_keys(defaults))
    assert require_strong("production", core_keys(Settings(privacy_key=STRONG, audit_key=STRONG))) == []


def _gamemetrics(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GAMEMETRICS_") or k == "GAMEMETRICS_STATE_DIR"}
    return subprocess.run([sys.executable, "-m", "operations", *args], env={**clean, **env}, capture_output=True,
                          text=True, timeout=120)


def test_a_production_process_on_the_default_keys_exits_naming_them():
    done = _gamemetrics("gdpr", "list", GAMEMETRICS_ENV="production")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "GAMEMETRICS_PRIVACY_KEY" in done.stderr and "GAMEMETRICS_AUDIT_KEY" in done.stderr


def test_a_production_api_on_the_default_jwt_secret_does_not_start():
    done = _gamemetrics("serve", "graphql", "--port", "0", GAMEMETRICS_ENV="production", GAMEMETRICS_PRIVACY_KEY=STRONG,
                        GAMEMETRICS_AUDIT_KEY=STRONG)
    assert done.returncode != 0
    assert "GAMEMETRICS_GRAPHQL_JWT_SECRET is a public default" in done.stdout + done.stderr
