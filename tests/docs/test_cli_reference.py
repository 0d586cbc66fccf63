"""The command reference (docs/operations/cli.md) is generated from the command tree."""

from __future__ import annotations

from operations import cli_doc


def test_reference_is_current() -> None:
    assert cli_doc.PAGE.read_text() == cli_doc.render(), (
        "docs/operations/cli.md is stale: run `python -m operations.cli_doc --write` and commit it"
    )


def test_every_command_has_an_entry() -> None:
    page = cli_doc.PAGE.read_text()
    missing = [" ".join(p) for p, _ in cli_doc.walk(cli_doc.tree()) if f"### `{' '.join(p)}`" not in page]
    assert missing == []
