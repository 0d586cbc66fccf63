"""Commands of retention, archival and GDPR, mounted by ``operations.cli``:

    gamemetrics retention run [--metrics-file F]       one cron pass: archive, drop, trim, GDPR jobs
    gamemetrics retention policy set|list              per-game policy overrides
    gamemetrics archive list|restore|query             the Parquet archive in object storage
    gamemetrics gdpr erase|export|run|unsuppress|list   GDPR requests
    gamemetrics gdpr receipt verify FILE                check a receipt's signature
    gamemetrics audit verify|list                       the hash-chained audit log
"""

from __future__ import annotations

import json
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer

from gamemetrics.commands import (
    GameOption, Output, OutputOption, PlayerOption, Quiet, command_settings, duration_option, duration_text, emit, fail,
    progress_enabled, resolved_output, say,
)
from gamemetrics.errors import GameMetricsError
from retention.settings import GdprSettings, OtherStages, RetentionSettings, S3Settings
from store import db

retention_app = typer.Typer(help="Retention: archive expired days to object storage, drop them, trim the rest.",
                            no_args_is_help=True)
policy_app = typer.Typer(help="Per-game retention policies (overrides of GAMEMETRICS_RETENTION_*).", no_args_is_help=True)
archive_app = typer.Typer(help="The Parquet archive of player_events in object storage.", no_args_is_help=True)
gdpr_app = typer.Typer(help="GDPR: erase, export and suppress a player; receipts.", no_args_is_help=True)
receipt_app = typer.Typer(help="Signed receipts of GDPR requests.", no_args_is_help=True)
audit_app = typer.Typer(help="The append-only, hash-chained audit log.", no_args_is_help=True)
retention_app.add_typer(policy_app, name="policy")
gdpr_app.add_typer(receipt_app, name="receipt")

Game = GameOption
Player = PlayerOption


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date like 2026-01-31") from None


@retention_app.command("run")
def run(
    metrics_file: Annotated[Path | None, typer.Option(help="Write the metrics here (Prometheus text, for node_exporter).")] = None,
    today: Annotated[str | None, typer.Option(help="Pretend today is this UTC date (backfills, tests).")] = None,
    quiet: Quiet = False,  # read by say()/progress_enabled() (gamemetrics.commands.with_quiet)
) -> None:
    """One pass: archive expired days of player_events to Parquet, verify, drop; trim rollups, sessions and the
    notification log; expire old archives; set the dead-letter topic's retention; run open GDPR requests.
    Idempotent and resumable; two passes never overlap (advisory lock)."""
    from retention.run import run_pass

    try:
        summary = run_pass(command_settings(), S3Settings(), RetentionSettings(), GdprSettings(), OtherStages.load(),
                           today=_day(today) if today else None, progress=progress_enabled(), metrics_file=metrics_file)
    except GameMetricsError as exc:
        fail(exc)
    for line in summary.lines():
        typer.echo(line)
    if summary.gdpr.failed or summary.archive.mismatches:
        raise typer.Exit(1)


@policy_app.command("set")
def policy_set(
    game: Game,
    store: Annotated[str, typer.Option(help="player_events, archive, rollups, notification_log.")],
    keep: Annotated[
        timedelta | None,
        duration_option("--keep", "--days", help="How long to keep, in whole days (a bare number: days); omit to go"
                        " back to the default.", bare_unit="d"),
    ] = None,
) -> None:
    """Override one store's retention for one game."""
    from retention.policies import set_policy

    days = None if keep is None else keep.days
    if keep is not None and (keep != timedelta(days=keep.days) or keep.days <= 0):
        raise typer.BadParameter(f"--keep {duration_text(keep)}: retention is kept in whole days, e.g. 30d")
    settings = command_settings()
    try:
        with db.connect(settings, autocommit=True) as conn:
            set_policy(conn, game, store, days)
            _audit(settings, conn, "retention.policy.set", game, None, {"store": store, "days": days})
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    except GameMetricsError as exc:
        fail(exc)
    typer.echo(json.dumps({"game_id": game, "store": store, "keep_days": days}))


@policy_app.command("list")
def policy_list(output: OutputOption = None) -> None:
    """The default of each store (game *) and every game's overrides, in days."""
    from retention.policies import Policies

    with db.connect(command_settings(), autocommit=True) as conn:
        policies = Policies.load(conn, RetentionSettings())
    emit([*({"game_id": "*", "store": s, "keep_days": d} for s, d in policies.defaults.items()),
          *({"game_id": g, "store": s, "keep_days": d} for (g, s), d in sorted(policies.overrides.items()))], output)


@archive_app.command("list")
def archive_list(
    game: Annotated[str | None, typer.Option("--game", help="Only this game.")] = None,
    from_: Annotated[str, typer.Option("--from", help="First day (UTC).")] = "0001-01-01",
    to: Annotated[str, typer.Option("--to", help="Last day, inclusive.")] = "9999-12-31",
    output: OutputOption = None,
) -> None:
    """Archived (game, day) parts: object, rows, bytes, state."""
    from retention.restore import listing

    with db.connect(command_settings(), autocommit=True) as conn:
        parts = listing(conn, game, _day(from_), _day(to))
    emit(({"game_id": p.game_id, "day": str(p.day), "part": p.part, "object": p.object_key, "rows": p.rows,
           "bytes": p.bytes, "state": p.state} for p in parts), output)


@archive_app.command("restore")
def archive_restore(
    game: Game,
    from_: Annotated[str, typer.Option("--from", help="First day (UTC).")],
    to: Annotated[str, typer.Option("--to", help="Last day, inclusive.")],
) -> None:
    """Bring archived days of a game back into player_events (idempotent: run it twice, get the same rows).
    They stay GAMEMETRICS_RETENTION_RESTORE_KEEP_DAYS days, then the pass drops them again."""
    from retention.lock import retention_lock
    from retention.objects import ObjectStore
    from retention.restore import restore
    from store.privacy import PlayerHasher

    settings = command_settings()
    try:
        with retention_lock(settings, wait_s=600), db.connect(settings, autocommit=True) as conn:
            parts, rows = restore(conn, ObjectStore(S3Settings()), PlayerHasher.of(settings), game, _day(from_), _day(to))
            _audit(settings, conn, "archive.restore", game, None, {"from": from_, "to": to, "rows": rows})
    except GameMetricsError as exc:
        fail(exc)
    typer.echo(json.dumps({"game_id": game, "parts": parts, "rows_inserted": rows}))


@archive_app.command("query")
def archive_query(
    sql_text: Annotated[str, typer.Argument(metavar="SQL", help="DuckDB SQL over the view `events`.")],
    game: Annotated[str | None, typer.Option("--game", help="Only this game's objects.")] = None,
    from_: Annotated[str, typer.Option("--from", help="First day (UTC).")] = "0001-01-01",
    to: Annotated[str, typer.Option("--to", help="Last day, inclusive.")] = "9999-12-31",
) -> None:
    """Run DuckDB over the archived Parquet objects in place, e.g.
    `gamemetrics archive query "SELECT event_type, count(*) FROM events GROUP BY 1"`. Prints CSV."""
    import csv

    import duckdb

    from retention.objects import ObjectStore
    from retention.restore import query

    try:
        with db.connect(command_settings(), autocommit=True) as conn:
            columns, rows = query(conn, ObjectStore(S3Settings()), sql_text, game, _day(from_), _day(to))
    except duckdb.Error as exc:
        raise typer.BadParameter(f"DuckDB: {exc}") from None
    except GameMetricsError as exc:
        fail(exc)
    writer = csv.writer(sys.stdout)
    writer.writerow(columns)
    writer.writerows(rows)


def _audit(settings, conn, action: str, game: str | None, subject: str | None, detail: dict) -> None:
    import getpass

    from store.audit import AuditLog

    AuditLog.of(settings).append(conn, f"cli:{getpass.getuser()}", action, game, subject, detail)


def _request(kind: str, game: str, player: str, requester: str, reason: str, suppress: bool, wait: bool) -> None:
    from retention.gdpr import requests
    from retention.run import run_gdpr_now
    from store.audit import AuditLog
    from store.privacy import PlayerHasher

    settings = command_settings()
    try:
        with db.connect(settings, autocommit=True) as conn:
            request = requests.create(conn, PlayerHasher.of(settings), AuditLog.of(settings), kind, game, player,
                                      requester, reason, suppress)
        say(f"{kind} request {request.request_id} created (tombstone written)" if kind == "erase"
            else f"export request {request.request_id} created")
        if not wait:
            typer.echo(json.dumps(request.public()))
            return
        outcome = run_gdpr_now(settings, S3Settings(), RetentionSettings(), GdprSettings(), OtherStages.load(),
                               str(request.request_id))
    except GameMetricsError as exc:
        fail(exc)
    rid = str(request.request_id)
    if rid in outcome.receipts:
        result = {"receipt": outcome.receipts[rid]}
        if rid in outcome.export_urls:
            result["url"] = outcome.export_urls[rid]
        typer.echo(json.dumps(result, indent=2))
        return
    for failed_id, store, error in outcome.failed:
        if failed_id == rid:
            typer.secho(f"error: {kind} {rid} failed at {store}: {error} (the next `retention run` retries it)",
                        fg="red", err=True)
            raise typer.Exit(1)
    say(f"request {rid} is pending (another job holds it)")


Requester = Annotated[str, typer.Option(help="Who asks (kept in the request and the audit log).")]
Reason = Annotated[str, typer.Option(help="Why (ticket, legal basis).")]
Wait = Annotated[bool, typer.Option("--wait/--no-wait", help="Run it now (default) or leave it to the cron pass.")]


@gdpr_app.command("erase")
def gdpr_erase(game: Game, player: Player, requester: Requester = "cli", reason: Reason = "",
               suppress: Annotated[bool, typer.Option("--suppress", help="Also refuse the player's future events.")] = False,
               wait: Wait = True) -> None:
    """Erase a player from every store (PostgreSQL, archives, exports, caches, recommender); prints the signed
    receipt. A tombstone makes landing drop the player's in-flight events; --suppress refuses new ones too."""
    _request("erase", game, player, requester, reason, suppress, wait)


@gdpr_app.command("export")
def gdpr_export(game: Game, player: Player, requester: Requester = "cli", reason: Reason = "", wait: Wait = True) -> None:
    """Export everything held on a player as one zip of JSON-lines in object storage; prints a time-limited URL
    and the signed receipt."""
    _request("export", game, player, requester, reason, False, wait)


@gdpr_app.command("run")
def gdpr_run(
    metrics_file: Annotated[Path | None, typer.Option(help="Write the metrics here (Prometheus text).")] = None,
) -> None:
    """Run the open GDPR requests (pending, or failed earlier) now: the frequent cron line. Exits 0 without doing
    anything when a retention pass is running (it runs them), 2 when a request failed."""
    from retention.run import run_open_requests

    try:
        outcome = run_open_requests(command_settings(), S3Settings(), RetentionSettings(), GdprSettings(),
                                    OtherStages.load(), metrics_file)
    except GameMetricsError as exc:
        fail(exc)
    if outcome is None:
        say("a retention pass is running; it runs the open requests")
        return
    typer.echo(f"GDPR requests: {len(outcome.done)} done, {len(outcome.failed)} failed")
    for rid, store, error in outcome.failed:
        typer.echo(f"  failed {rid} at {store}: {error}")
    if outcome.failed:
        raise typer.Exit(1)


@gdpr_app.command("unsuppress")
def gdpr_unsuppress(game: Game, player: Player, requester: Requester = "cli") -> None:
    """Accept a suppressed player's new events again (what was erased stays erased)."""
    from retention.gdpr import requests
    from store.audit import AuditLog
    from store.privacy import PlayerHasher

    settings = command_settings()
    with db.connect(settings, autocommit=True) as conn:
        changed = requests.unsuppress(conn, PlayerHasher.of(settings), AuditLog.of(settings), game, player, requester)
    typer.echo(json.dumps({"game_id": game, "unsuppressed": changed}))


@gdpr_app.command("list")
def gdpr_list(
    status: Annotated[str | None, typer.Option(help="pending, running, done or failed.")] = None,
    output: OutputOption = None,
) -> None:
    """GDPR requests, newest first (no raw player ids)."""
    from retention.gdpr import requests

    with db.connect(command_settings(), autocommit=True) as conn:
        found = requests.listing(conn, status)
    emit((r.public() for r in found), output)


@receipt_app.command("show")
def receipt_show(request_id: Annotated[str, typer.Argument(help="The request id.")], output: OutputOption = None) -> None:
    """Print a done request's signed receipt, to hand to the player or keep: the JSON that
    `receipt verify` checks, or with --output table its fields one a line."""
    from retention.gdpr import requests

    with db.connect(command_settings(), autocommit=True) as conn:
        r = requests.get(conn, request_id)
    if r is None or r.receipt is None:
        typer.secho(f"error: no receipt for request {request_id} (not done yet? `gamemetrics gdpr list`)", fg="red",
                    err=True)
        raise typer.Exit(1)
    if resolved_output(output) is Output.json:
        typer.echo(json.dumps(r.receipt))
        return
    emit(({"field": key, "value": value} for key, value in r.receipt.items()), output)


@receipt_app.command("verify")
def receipt_verify(path: Annotated[Path, typer.Argument(help="The receipt file (JSON); - for stdin.")]) -> None:
    """Check a receipt's signature: exit 0 and print `valid`, or exit 1 naming what is wrong."""
    from retention.errors import ReceiptInvalid
    from retention.gdpr.receipts import verify

    text = sys.stdin.read() if str(path) == "-" else path.read_text()
    try:
        receipt = json.loads(text)
        if "receipt" in receipt and "signature" not in receipt:  # the output of `gdpr erase`
            receipt = receipt["receipt"]
        verify(receipt, GdprSettings().receipt_key.get_secret_value().encode())
    except (ValueError, ReceiptInvalid) as exc:
        typer.secho(f"invalid: {exc}", fg="red", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"valid: {receipt.get('kind')} request {receipt.get('request_id')} completed {receipt.get('completed_at')}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Walk the audit log's hash chain: exit 0 when intact, 1 listing every edited or deleted row."""
    from store.audit import AuditLog

    settings = command_settings()
    with db.connect(settings, autocommit=True) as conn:
        report = AuditLog.of(settings).verify(conn)
    for problem in report.problems:
        typer.secho(problem, fg="red", err=True)
    if not report.intact:
        raise typer.Exit(1)
    typer.echo(f"audit log intact: {report.rows} rows")


@audit_app.command("list")
def audit_list(limit: Annotated[int, typer.Option(help="Rows, newest first.")] = 50, output: OutputOption = None) -> None:
    """The newest audit rows."""
    with db.connect(command_settings(), autocommit=True) as conn:
        rows = conn.execute("SELECT seq, at, actor, action, game_id, subject, detail FROM audit_log ORDER BY seq DESC"
                            " LIMIT %s", (limit,)).fetchall()
    emit(({"seq": seq, "at": at, "actor": actor, "action": action, "game_id": game, "subject": subject, "detail": detail}
          for seq, at, actor, action, game, subject, detail in rows), output)
