"""Step 1 of notifications, rules: a processed batch + the enabled rules -> notifications. Pure.

A rule fires for an event of its ``event_type`` (in its game, or in every game when ``game_id`` is
None) when every condition it sets holds:

- ``min_revenue_usd``: the event's revenue in USD is at least this;
- ``lifetime_spend_threshold_usd``: the player's lifetime revenue crossed it with this event,
  ``previous < threshold <= new`` where ``previous = new - revenue_usd``; it fires once per
  player, on the event that crosses, and a replay of that event gives the same notification id.

The notification's payload holds the template variables: the event's properties, then its fields
(``game_id``, ``player_id``, ``event_id``, ``event_type``, ``event_time``, ``session_id``,
``platform``, ``country``, ``app_version``), ``revenue_usd``, ``lifetime_revenue_usd``,
``threshold_usd``, and ``recipient``: the rule's ``target`` rendered with those variables.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from processors.notifications.model import CHANNELS, RECIPIENT, Notification, notification_id
from processors.notifications.templates import substitute, template_problem
from streams.topics import GAME_ID_HEADER

# player_lifetime_revenue_usd is numeric(18, 6) in the store: compare at that precision so float
# noise (0.1 + 0.2) cannot make a threshold fire twice or not at all.
MONEY_DECIMALS = 6
_EVENT_FIELDS = ("event_id", "event_type", "player_id", "session_id", "platform", "country", "app_version")


@dataclass(frozen=True)
class Rule:
    """One row of ``notification_rules``."""

    rule_id: str
    event_type: str
    channel: str
    template: str
    target: str
    game_id: str | None = None
    min_revenue_usd: float | None = None
    lifetime_spend_threshold_usd: float | None = None
    enabled: bool = True


def rule_problems(rule: Rule) -> list[str]:
    """What is wrong with ``rule``, each naming the field; empty when it can be used."""
    problems = []
    if not rule.rule_id.strip():
        problems.append("rule_id: is empty")
    if not rule.event_type.strip():
        problems.append("event_type: is empty; name a standard type (purchase, achievement, ...) or custom.<name>")
    if rule.channel not in CHANNELS:
        problems.append(f"channel: {rule.channel!r} is not one of {', '.join(CHANNELS)}")
    for name in ("template", "target"):
        problem = template_problem(getattr(rule, name))
        if problem:
            problems.append(f"{name}: {problem}")
    if rule.channel == "webhook" and urlsplit(rule.target).scheme not in ("http", "https"):
        problems.append(f"target: {rule.target!r} is not an http(s) URL; a webhook rule posts to its target")
    if rule.channel == "email" and "@" not in rule.target and "$" not in rule.target:
        problems.append(f"target: {rule.target!r} is not an email address (nor a template giving one)")
    if rule.min_revenue_usd is not None and rule.min_revenue_usd < 0:
        problems.append(f"min_revenue_usd: {rule.min_revenue_usd} is negative")
    if rule.lifetime_spend_threshold_usd is not None and rule.lifetime_spend_threshold_usd <= 0:
        problems.append(f"lifetime_spend_threshold_usd: {rule.lifetime_spend_threshold_usd} must be above 0")
    return problems


class RuleSet:
    """Enabled rules indexed by event type."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self._by_type: dict[str, list[Rule]] = {}
        for rule in rules:
            if rule.enabled:
                self._by_type.setdefault(rule.event_type, []).append(rule)
        self._count = sum(len(rules) for rules in self._by_type.values())  # asked once per processed message

    def __len__(self) -> int:
        return self._count

    def applies_to(self, game_id: str) -> bool:
        """Whether any rule can fire for this game (a batch of another game need not be decoded)."""
        return any(r.game_id is None or r.game_id == game_id for rules in self._by_type.values() for r in rules)

    def candidates(self, game_id: str, event_type: str) -> list[Rule]:
        """Rules of this event type that apply to this game."""
        return [r for r in self._by_type.get(event_type, ()) if r.game_id is None or r.game_id == game_id]


def _money(value: float | None) -> float | None:
    return None if value is None else round(float(value), MONEY_DECIMALS)


def threshold_crossed(threshold: float, revenue_usd: float | None, lifetime_usd: float | None) -> bool:
    """True when this event took the player's lifetime revenue from below ``threshold`` to at least it."""
    new = _money(lifetime_usd)
    if new is None:
        return False
    previous = _money(new - (revenue_usd or 0.0))
    return previous < _money(threshold) <= new  # type: ignore[operator]


def fires(rule: Rule, processed: Mapping[str, Any]) -> bool:
    """Whether ``rule`` (already matched on game and type) fires for one ProcessedEvent."""
    revenue = processed.get("revenue_usd")
    if rule.min_revenue_usd is not None and (revenue is None or _money(revenue) < _money(rule.min_revenue_usd)):
        return False
    if rule.lifetime_spend_threshold_usd is not None:
        lifetime = processed.get("player_lifetime_revenue_usd")
        return threshold_crossed(rule.lifetime_spend_threshold_usd, revenue, lifetime)
    return True


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    return str(value)


def _usd(value: float | None) -> str | None:
    return None if value is None else f"{float(value):.2f}"


def event_variables(game_id: str, processed: Mapping[str, Any]) -> dict[str, str]:
    """The template variables of one ProcessedEvent (every value a string)."""
    event = processed["event"]
    variables = {key: _text(value) for key, value in (event.get("properties") or {}).items()}
    fields: dict[str, Any] = {name: event.get(name) for name in _EVENT_FIELDS}
    fields["game_id"] = game_id
    fields["event_time"] = event.get("event_time")
    fields["revenue_usd"] = _usd(processed.get("revenue_usd"))
    fields["lifetime_revenue_usd"] = _usd(processed.get("player_lifetime_revenue_usd"))
    variables.update({name: _text(value) for name, value in fields.items() if value is not None})
    return variables


def notification_for(rule: Rule, game_id: str, processed: Mapping[str, Any], created_at: datetime) -> Notification:
    """The notification ``rule`` makes for one ProcessedEvent."""
    event = processed["event"]
    payload = event_variables(game_id, processed)
    if rule.lifetime_spend_threshold_usd is not None:
        payload["threshold_usd"] = _usd(rule.lifetime_spend_threshold_usd) or ""
    payload[RECIPIENT] = substitute(rule.target, payload)
    event_id = str(event["event_id"])
    return Notification(
        notification_id=notification_id(rule.rule_id, event_id),
        game_id=game_id,
        player_id=str(event["player_id"]),
        channel=rule.channel,
        rule_id=rule.rule_id,
        template=rule.template,
        payload=payload,
        source_event_id=event_id,
        created_at=created_at,
    )


def notifications_for_batch(rules: RuleSet, batch: Mapping[str, Any], created_at: datetime) -> list[Notification]:
    """Every notification the rules make for a ProcessedEventBatch, in event order then rule order."""
    game_id = str(batch["game_id"])
    made = []
    events: Sequence[Mapping[str, Any]] = batch["events"]
    for processed in events:
        for rule in rules.candidates(game_id, processed["event"]["event_type"]):
            if fires(rule, processed):
                made.append(notification_for(rule, game_id, processed, created_at))
    return made


def may_fire(rules: RuleSet, headers: Any) -> bool:
    """False when no rule can fire for the batch: no rules at all, or none for the game named in
    the message's ``game_id`` header. Without the header (another producer) the batch is decoded.
    A skipped batch is never decoded, so an undecodable one makes no dead letter here (the
    topic's one producer is the landing worker, which writes it with the same codec)."""
    if not len(rules):
        return False
    items = headers.items() if isinstance(headers, Mapping) else (headers or ())
    for name, value in items:
        if name == GAME_ID_HEADER:
            return rules.applies_to(value.decode() if isinstance(value, bytes) else str(value))
    return True
