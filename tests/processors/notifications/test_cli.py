"""processors/notifications/cli.py: `notifications rules add|list|disable|delete` as a user runs them, on a real database."""

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

    listed = cli(isolated, "rules", "list", "--output", "table")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[0].split()[:2] == ["RULE_ID", "ENABLED"]
    assert "whale" in listed.stdout and "https://crm.example/spend" in listed.stdout
    assert "lifetime crosses 100" in listed.stdout

    assert cli(isolated, "rules", "disable", "whale").returncode == 0
    # piped: JSON lines by default
    [rule] = [json.loads(line) for line in cli(isolated, "rules", "list").stdout.splitlines()]
    assert rule["rule_id"] == "whale" and rule["enabled"] is False


def test_a_deleted_rule_is_gone_and_deleting_it_again_fails(isolated):
    added = cli(isolated, "rules", "add", "achievement", "--channel", "push", "--target", "$player_id",
                "--template", "Unlocked: $achievement_id", "--rule-id", "cheers")
    assert added.returncode == 0, added.stderr
    deleted = cli(isolated, "rules", "delete", "cheers")
    assert deleted.returncode == 0, deleted.stderr
    assert json.loads(deleted.stdout) == {"rule_id": "cheers", "deleted": True}
    assert cli(isolated, "rules", "list", "--output", "json").stdout == ""
    again = cli(isolated, "rules", "delete", "cheers")
    assert again.returncode == 1 and "no rule 'cheers'" in again.stderr


def test_a_bad_rule_is_refused_with_the_reason(isolated):
    result = cli(isolated, "rules", "add", "purchase", "--channel", "webhook", "--target", "crm", "--template", "x")
    assert result.returncode == 1
    assert "target: 'crm' is not an http(s) URL" in result.stderr
    assert cli(isolated, "rules", "list", "--output", "json").stdout == ""
