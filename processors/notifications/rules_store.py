"""The ``notification_rules`` table: add, list, enable/disable (CLI), and the agents' rule cache.

The rules agent keeps a :class:`RuleCache` (state of the agent, not of the process) and reloads the
enabled rules every ``rules_refresh_s``: a rule added with ``gamemetrics notifications rules add``
fires on the events processed after the next reload. A malformed row (written by hand) is
logged and skipped, never allowed to stop the other rules.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import structlog

from store.errors import StoreError
from processors.notifications.errors import RuleError
from processors.notifications.rules import Rule, RuleSet, rule_problems

log = structlog.get_logger("processors.notifications.rules_store")

_COLUMNS = ("rule_id, event_type, channel, template, target, game_id, min_revenue_usd, "
            "lifetime_spend_threshold_usd, enabled")
_MIGRATIONS_HINT = "are the migrations applied (`gamemetrics stack up` runs them)?"
_ENABLED = f"SELECT {_COLUMNS} FROM notification_rules WHERE enabled ORDER BY rule_id"


def _rule(row: tuple[Any, ...]) -> Rule:
    rule_id, event_type, channel, template, target, game_id, min_revenue, threshold, enabled = row
    return Rule(
        rule_id=rule_id, event_type=event_type, channel=channel, template=template, target=target, game_id=game_id,
        min_revenue_usd=None if min_revenue is None else float(min_revenue),
        lifetime_spend_threshold_usd=None if threshold is None else float(threshold), enabled=enabled,
    )


@contextmanager
def _translated(what: str) -> Iterator[None]:
    """Any other database error as a StoreError saying what we were doing."""
    try:
        yield
    except psycopg.Error as exc:
        raise StoreError(f"{what} failed: {exc}; {_MIGRATIONS_HINT}") from exc


def add_rule(conn: psycopg.Connection, rule: Rule) -> Rule:
    """Insert ``rule`` and commit; RuleError names what is wrong with it."""
    problems = rule_problems(rule)
    if problems:
        raise RuleError(f"rule {rule.rule_id!r} is not valid: " + "; ".join(problems))
    try:
        with conn.transaction():
            conn.execute(
                f"INSERT INTO notification_rules ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (rule.rule_id, rule.event_type, rule.channel, rule.template, rule.target, rule.game_id,
                 rule.min_revenue_usd, rule.lifetime_spend_threshold_usd, rule.enabled),
            )
    except psycopg.errors.UniqueViolation as exc:
        raise RuleError(f"rule_id {rule.rule_id!r} already exists; choose another or omit --rule-id") from exc
    except psycopg.errors.ForeignKeyViolation as exc:
        raise RuleError(f"game_id {rule.game_id!r} is not a game; see `gamemetrics games list`") from exc
    except psycopg.Error as exc:
        raise StoreError(f"adding rule {rule.rule_id!r} failed: {exc}; {_MIGRATIONS_HINT}") from exc
    return rule


def list_rules(conn: psycopg.Connection, game_id: str | None = None) -> list[Rule]:
    """Every rule, enabled or not, of one game (with the every-game rules) or of all games."""
    with _translated("listing notification_rules"):
        if game_id is None:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM notification_rules ORDER BY rule_id").fetchall()
        else:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM notification_rules WHERE game_id = %s OR game_id IS NULL ORDER BY rule_id",
                (game_id,),
            ).fetchall()
    return [_rule(row) for row in rows]


def set_enabled(conn: psycopg.Connection, rule_id: str, enabled: bool) -> None:
    """Enable or disable a rule and commit; RuleError when there is no such rule."""
    with _translated(f"updating rule {rule_id!r}"), conn.transaction():
        updated = conn.execute(
            "UPDATE notification_rules SET enabled = %s, updated_at = now() WHERE rule_id = %s", (enabled, rule_id)
        ).rowcount
    if updated == 0:
        raise RuleError(f"no rule {rule_id!r}; see `gamemetrics notifications rules list`")


def delete_rule(conn: psycopg.Connection, rule_id: str) -> None:
    """Delete a rule and commit; RuleError when there is no such rule. Its past deliveries stay in
    notification_deliveries (until retention trims them), so re-adding the same rule id never resends."""
    with _translated(f"deleting rule {rule_id!r}"), conn.transaction():
        deleted = conn.execute("DELETE FROM notification_rules WHERE rule_id = %s", (rule_id,)).rowcount
    if deleted == 0:
        raise RuleError(f"no rule {rule_id!r}; see `gamemetrics notifications rules list`")


def usable(rules: list[Rule]) -> list[Rule]:
    """The rules without problems; each one left out is logged with why."""
    kept = []
    for rule in rules:
        problems = rule_problems(rule)
        if problems:
            log.error("notification_rule_skipped", rule_id=rule.rule_id, problems=problems)
        else:
            kept.append(rule)
    return kept


async def fetch_enabled_rules(conn: psycopg.AsyncConnection) -> list[Rule]:
    """The enabled, well-formed rules."""
    cur = await conn.execute(_ENABLED)
    return usable([_rule(row) for row in await cur.fetchall()])


class RuleCache:
    """The enabled rules, reloaded when older than ``refresh_s``."""

    def __init__(self, load: Callable[[], Awaitable[list[Rule]]], refresh_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._load = load
        self._refresh_s = refresh_s
        self._clock = clock
        self._rules: RuleSet | None = None
        self._loaded_at = 0.0

    async def current(self) -> RuleSet:
        now = self._clock()
        if self._rules is None or now - self._loaded_at >= self._refresh_s:
            self._rules = RuleSet(await self._load())
            self._loaded_at = now
            log.debug("notification_rules_loaded", rules=len(self._rules))
        return self._rules
