"""processors/notifications/cli.py: `notifications rules add|list|disable` as a user runs them, on a real database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gamemetrics.envvars import settings_env
from gamemetrics.settings import Settings

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
CLI_TIMEOUT_S = 60


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "processors.notifications.cli", *args], cwd=REPO,
                          env={**os.environ, **settings_env(settings)}, capture_output=True, text=True,
                          timeout=CLI_TIMEOUT_S)


def test_rules_added_from_the_command_line_are_listed_and_can_be_disabled(isolated):
    added = cli(isolated, "rules", "add", "purchase", "--channel", "webhook", "--target", "https://crm.example/spend",
                "--template", "$player_id crossed $threshold_usd USD", "--lifetime-spend-threshold-usd", "100",
                "--rule-id", "whale")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["lifetime_spend_threshold_usd"] == 100.0

    listed = cli(isolated, "rules", "list")
    assert listed.returncode == 0, listed.stderr
    assert "whale" in listed.stdout and "https://crm.example/spend" in listed.stdout
    assert "lifetime crosses 100" in listed.stdout

    assert cli(isolated, "rules", "disable", "whale").returncode == 0
    [rule] = [json.loads(line) for line in cli(isolated, "rules", "list", "--json").stdout.splitlines()]
    assert rule["rule_id"] == "whale" and rule["enabled"] is False


def test_a_bad_rule_is_refused_with_the_reason(isolated):
    result = cli(isolated, "rules", "add", "purchase", "--channel", "webhook", "--target", "crm", "--template", "x")
    assert result.returncode == 1
    assert "target: 'crm' is not an http(s) URL" in result.stderr
    assert cli(isolated, "rules", "list", "--json").stdout == ""
