"""Every `gamemetrics` command follows the conventions of gamemetrics/commands.py (walked, not listed, so a
command added tomorrow is checked too): --quiet, --output on list/show commands, exit status 2 on a usage
error, the same option names for the same things, durations as 24h, and --version."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from gamemetrics.commands import DURATION_METAVAR
from operations.cli import app

REPO = Path(__file__).resolve().parents[2]

# Leaf commands named like this list or show things, so they take --output table|json.
LISTING_NAMES = {"list", "show", "inspect", "status", "models"}
# An option named after its unit is a duration spelled the old way.
UNIT_SUFFIXES = ("-s", "-ms", "-seconds", "-minutes", "-hours", "-days")
# Options that are durations whatever their help says.
DURATION_NAMES = {"--ttl", "--grace", "--duration", "--within", "--test-period"}
# The same thing has one name everywhere.
WRONG_NAMES = {
    "--game-id": "--game", "--gameid": "--game", "--player-id": "--player", "--playerid": "--player",
    "--json": "--output json", "--format": "--output", "--silent": "--quiet",
}
PASS_THROUGH = {("bench", "e2e"), ("bench", "faults"), ("bench", "recommender")}  # options go to bench/*.py

HOW = """
A gamemetrics command must (gamemetrics/commands.py says how):
  - be mounted in operations/cli.py before its last line, `apply_conventions(app)`, which gives it --quiet,
    and print notes with say() (stderr) and results with typer.echo (stdout);
  - if it lists or shows things (named list/show/inspect/status/models): take `output: OutputOption = None`
    and print with `emit(rows, output)` (a table on a terminal, JSON lines when piped), never a --json flag;
  - name a game `--game` (GameOption) and a player `--player` (PlayerOption);
  - take durations with `duration_option(...)` (90s, 15m, 24h, 7d), never an option named after its unit;
  - fail with `fail(exc)` (exit 1) and refuse bad input with typer.BadParameter (exit 2).
"""


def commands() -> Iterator[tuple[tuple[str, ...], object]]:
    def walk(command, path):
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                yield from walk(sub, (*path, name))
        else:
            yield path, command

    yield from walk(typer.main.get_command(app), ())


ALL = sorted(commands(), key=lambda item: item[0])


def options(command) -> list:
    return [p for p in command.params if p.param_type_name == "option"]


def names(command) -> set[str]:
    return {name for p in options(command) for name in p.opts}


def test_every_command_is_walked() -> None:
    paths = {" ".join(path) for path, _ in ALL}
    assert len(paths) > 40
    assert {"stack up", "tokens list", "tokens revoke", "notifications rules delete", "gdpr erase"} <= paths


@pytest.mark.parametrize("path,command", ALL, ids=[" ".join(p) for p, _ in ALL])
def test_command_follows_the_conventions(path, command) -> None:
    problems = []
    found = names(command)
    if "--quiet" not in found:
        problems.append("no --quiet")
    if path[-1] in LISTING_NAMES:
        output = [p for p in options(command) if "--output" in p.opts]
        if not output:
            problems.append("lists or shows things but has no --output")
    for wrong, right in WRONG_NAMES.items():
        if wrong in found:
            problems.append(f"option {wrong}: use {right}")
    for option in options(command):
        primary = option.opts[0]
        if primary.endswith(UNIT_SUFFIXES):
            problems.append(f"option {primary} is named after its unit: a duration option instead (24h)")
        if primary in DURATION_NAMES and option.metavar != DURATION_METAVAR:
            problems.append(f"option {primary} is a duration: use duration_option() (90s, 15m, 24h, 7d)")
        if any(o in ("--game", "--games") for o in option.opts) and primary != "--game":
            problems.append(f"option {primary}: the game option is spelled --game")
        if any(o in ("--player", "--players") for o in option.opts) and primary not in ("--player", "--players"):
            problems.append(f"option {primary}: the player option is spelled --player")
    assert not problems, f"`gamemetrics {' '.join(path)}`: " + "; ".join(problems) + "\n" + HOW


@pytest.mark.parametrize("path,command", [c for c in ALL if c[0] not in PASS_THROUGH],
                         ids=[" ".join(p) for p, _ in ALL if p not in PASS_THROUGH])
def test_a_usage_error_exits_2_and_help_exits_0(path, command) -> None:
    runner = CliRunner()
    bad = runner.invoke(app, [*path, "--no-such-option"])
    assert bad.exit_code == 2, f"`gamemetrics {' '.join(path)} --no-such-option` exited {bad.exit_code}\n{HOW}"
    assert runner.invoke(app, [*path, "--help"]).exit_code == 0


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("gamemetrics ")


def gamemetrics(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "operations", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=60, env={**os.environ, **(env or {})})


UNREACHABLE_DB = {"GAMEMETRICS_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}


def test_a_failure_exits_1_with_the_error_on_stderr() -> None:
    result = gamemetrics("games", "list", env=UNREACHABLE_DB)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("error: ") and result.stdout == ""


def test_quiet_silences_the_notes_but_not_the_result(tmp_path) -> None:
    env = {"GAMEMETRICS_STATE_DIR": str(tmp_path)}
    loud = gamemetrics("stack", "install", "--no-s3", "--help", env=env)
    assert loud.returncode == 0
    # `stack status` prints its rows on stdout; `tokens create` a note on stderr and the token on stdout
    noisy = gamemetrics("tokens", "create", "--game", "*", "--ttl", "1h", env=UNREACHABLE_DB)
    quiet = gamemetrics("tokens", "create", "--game", "*", "--ttl", "1h", "--quiet", env=UNREACHABLE_DB)
    assert noisy.returncode == quiet.returncode == 0, noisy.stderr + quiet.stderr
    assert "analyst token for *" in noisy.stderr
    assert "analyst token for *" not in quiet.stderr
    assert quiet.stdout.count(".") == 2  # the JWT, on stdout either way


def test_output_is_json_lines_when_piped_and_a_table_when_asked(tmp_path) -> None:
    env = {"GAMEMETRICS_STATE_DIR": str(tmp_path), "GAMEMETRICS_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
           "GAMEMETRICS_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none", "GAMEMETRICS_REDIS_URL": "redis://127.0.0.1:1/0",
           "GAMEMETRICS_S3_ENDPOINT_URL": "http://127.0.0.1:1"}
    piped = gamemetrics("stack", "status", env=env)
    assert piped.returncode == 0, piped.stderr
    rows = [json.loads(line) for line in piped.stdout.splitlines()]
    assert {r["service"] for r in rows} >= {"kafka", "postgresql", "redis"} and all(r["owner"] == "external" for r in rows)
    table = gamemetrics("stack", "status", "--output", "table", env=env)
    assert table.stdout.splitlines()[0].split() == ["SERVICE", "STATE", "OWNER", "ADDRESS", "DETAIL"]
    assert gamemetrics("stack", "status", "--output", "yaml", env=env).returncode == 2


def test_durations_are_written_24h() -> None:
    result = CliRunner().invoke(app, ["loadgen", "--duration", "forever", "--api-key", "k"])
    assert result.exit_code == 2 and "is not a duration" in result.output
