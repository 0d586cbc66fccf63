"""``gamemetrics notifications``: run the notification agents, and manage the rules that turn processed
events into notifications.

    gamemetrics notifications worker              the rules and delivery agents on their own (Faust)
    gamemetrics notifications rules add|list|enable|disable|delete   the rules (table notification_rules)

Mounted by ``operations.cli`` with ``app.add_typer(notifications_app, name="notifications")``.
Running workers pick up a rule change within ``GAMEMETRICS_NOTIFY_RULES_REFRESH_S``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict
from typing import Annotated

import typer

from gamemetrics.commands import OutputOption, apply_conventions, command_settings, emit, fail
from gamemetrics.errors import GameMetricsError

app = typer.Typer(help="Notifications: rules that turn processed events into messages.", no_args_is_help=True)
rules_app = typer.Typer(help="Notification rules (table notification_rules).", no_args_is_help=True)
app.add_typer(rules_app, name="rules")


@app.command("worker")
def notifications_worker(
    loglevel: Annotated[str, typer.Option(help="Faust log level.")] = "warning",
) -> None:
    """Run the notification agents on their own (Faust, consumer group gamemetrics-notifications):
    player.events.processed -> rules -> notifications -> email/webhook/push/SMS, failures to system.dlq.

    Pair it with `gamemetrics worker --no-notifications`. Settings: GAMEMETRICS_NOTIFY_* (channels, retries;
    processors/notifications/settings.py); /metrics on GAMEMETRICS_WORKER_METRICS_PORT/_HOST.
    """
    from gamemetrics.runtime import use_uvloop
    from processors.cli import run_faust, serve_metrics
    from processors.notifications.settings import load_notification_settings
    from processors.notifications.worker import build_notifications_app
    from processors.settings import WorkerSettings

    settings = command_settings()
    notify = load_notification_settings()
    serve_metrics(WorkerSettings())
    use_uvloop()
    run_faust(build_notifications_app(settings, notify), loglevel)



HELP = {
    "event_type": "Event type that triggers it: purchase, achievement, custom.<name>, ...",
    "channel": "email, webhook, push or sms.",
    "target": "Email address, webhook URL or provider recipient; may use $player_id and the other variables.",
    "template": "Message template ($item_id, ${amount}, ...): first line = title/subject, the rest = body.",
    "game": "The game it applies to; omitted = every game.",
    "min_revenue_usd": "Fire only when the event's revenue in USD is at least this.",
    "threshold": "Fire once, on the event taking the player's lifetime revenue (USD) past this.",
    "rule_id": "Id of the rule (part of every notification id); default: generated.",
}


@rules_app.command("add")
def rules_add(
    event_type: Annotated[str, typer.Argument(help=HELP["event_type"])],
    channel: Annotated[str, typer.Option(help=HELP["channel"])],
    target: Annotated[str, typer.Option(help=HELP["target"])],
    template: Annotated[str, typer.Option(help=HELP["template"])],
    game: Annotated[str | None, typer.Option(help=HELP["game"])] = None,
    min_revenue_usd: Annotated[float | None, typer.Option(help=HELP["min_revenue_usd"])] = None,
    lifetime_spend_threshold_usd: Annotated[float | None, typer.Option(help=HELP["threshold"])] = None,
    rule_id: Annotated[str | None, typer.Option(help=HELP["rule_id"])] = None,
    disabled: Annotated[bool, typer.Option("--disabled", help="Create it disabled.")] = False,
) -> None:
    """Add a rule; prints it as JSON."""
    from store import db
    from processors.notifications.rules import Rule
    from processors.notifications.rules_store import add_rule

    rule = Rule(
        rule_id=rule_id or f"rule-{uuid.uuid4().hex[:12]}", event_type=event_type, channel=channel,
        template=template, target=target, game_id=game, min_revenue_usd=min_revenue_usd,
        lifetime_spend_threshold_usd=lifetime_spend_threshold_usd, enabled=not disabled,
    )
    try:
        with db.connect(command_settings()) as conn:
            add_rule(conn, rule)
    except GameMetricsError as exc:
        fail(exc)
    typer.echo(json.dumps(asdict(rule)))


@rules_app.command("list")
def rules_list(
    game: Annotated[str | None, typer.Option(help="Only the rules that apply to this game.")] = None,
    output: OutputOption = None,
) -> None:
    """List the rules, enabled or not (--output json: every field of each rule)."""
    from store import db
    from processors.notifications.rules_store import list_rules

    try:
        with db.connect(command_settings()) as conn:
            rules = list_rules(conn, game)
    except GameMetricsError as exc:
        fail(exc)
    from gamemetrics.commands import Output, resolved_output

    if resolved_output(output) is Output.json:
        emit((asdict(rule) for rule in rules), output)
        return
    emit(({"rule_id": rule.rule_id, "enabled": "on" if rule.enabled else "off", "game": rule.game_id or "*",
           "event_type": rule.event_type, "channel": rule.channel, "target": rule.target,
           "when": " ".join(_conditions(rule))} for rule in rules), output)


def _conditions(rule) -> list[str]:
    conditions = []
    if rule.min_revenue_usd is not None:
        conditions.append(f"revenue>={rule.min_revenue_usd:g}")
    if rule.lifetime_spend_threshold_usd is not None:
        conditions.append(f"lifetime crosses {rule.lifetime_spend_threshold_usd:g}")
    return conditions


def _set_enabled(rule_id: str, enabled: bool) -> None:
    from store import db
    from processors.notifications.rules_store import set_enabled

    try:
        with db.connect(command_settings()) as conn:
            set_enabled(conn, rule_id, enabled)
    except GameMetricsError as exc:
        fail(exc)
    typer.echo(json.dumps({"rule_id": rule_id, "enabled": enabled}))


@rules_app.command("enable")
def rules_enable(rule_id: Annotated[str, typer.Argument(help="The rule to enable.")]) -> None:
    """Enable a rule."""
    _set_enabled(rule_id, True)


@rules_app.command("disable")
def rules_disable(rule_id: Annotated[str, typer.Argument(help="The rule to disable.")]) -> None:
    """Disable a rule (kept, no longer fires)."""
    _set_enabled(rule_id, False)


@rules_app.command("delete")
def rules_delete(rule_id: Annotated[str, typer.Argument(help="The rule to delete.")]) -> None:
    """Delete a rule (its past deliveries stay in the delivery log, so re-adding it never resends them)."""
    from store import db
    from processors.notifications.rules_store import delete_rule

    try:
        with db.connect(command_settings()) as conn:
            delete_rule(conn, rule_id)
    except GameMetricsError as exc:
        fail(exc)
    typer.echo(json.dumps({"rule_id": rule_id, "deleted": True}))


if __name__ == "__main__":  # `python -m processors.notifications.cli`, before it is mounted
    apply_conventions(app)()
