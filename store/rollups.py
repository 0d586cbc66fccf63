"""Every rollup, declared once: its table, key, measures, and how each is computed from
``player_events`` rows; the SQL each user needs is rendered from these declarations.

A rollup is a table the landing worker maintains from the events it lands, so that dashboards
never scan raw events for standard metrics. Its users:

- the write path (``processors/postgres_sink.py``): :func:`upsert_sql` and :func:`upsert_params`,
  the one statement that adds a landing group's aggregates (``processors/rollups.py`` computes
  them, in this module's column order) to every rollup table;
- ``gamemetrics verify`` (``store/verify.py``): :func:`verify_sql`, the table against a
  GROUP BY over ``player_events``;
- retention (``retention/sweep.py``): :func:`trimmed` and :func:`trim_sql`, the rows past a
  policy; GDPR (``retention/gdpr/``): :func:`erased_tables` (rows of an erased player) and
  :func:`anonymous_tables` (kept after an erase);
- the GraphQL analytics queries (``graphql_api/analytics/``): each rollup's ``table`` and column
  names.

A foundation of the store: imports no stage. Adding a rollup is adding a :class:`Rollup` to
:data:`ROLLUPS` (and a migration, and its aggregate in ``processors/rollups.py`` and the native
crate); ``tests/store/test_rollups_catalog.py`` fails until every user covers it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

# How a write-path parameter becomes a column value ({} is the unnest alias).
EPOCH_MS = "'epoch'::timestamptz + {} * interval '1 millisecond'"  # epoch milliseconds -> timestamptz
MICRO_USD = "{}::numeric / 1000000"  # integer micro-dollars -> numeric(18, 6)
DAY_NUMBER = "date '1970-01-01' + {}"  # days since 1970-01-01 -> date
AS_IS = "{}"

# The same keys computed from a player_events row (UTC buckets).
UTC_MINUTE = "date_trunc('minute', event_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
UTC_HOUR = "date_trunc('hour', event_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
UTC_DAY = "(event_time AT TIME ZONE 'UTC')::date"

# How a measure already stored meets the one a landing group adds (ON CONFLICT ... DO UPDATE);
# {old} is the stored row, {col} the column.
SUM = "{old}.{col} + excluded.{col}"
LEAST = "least({old}.{col}, excluded.{col})"
GREATEST = "greatest({old}.{col}, excluded.{col})"
NEWEST = "coalesce(excluded.{col}, {old}.{col})"  # the group's value when it has one
KEEP = None  # set by the first group, never updated

OLD = "old"  # the alias of the stored row in every upsert


@dataclass(frozen=True)
class Column:
    """One key or measure column of a rollup table.

    ``alias``/``array``/``value``: how the write path receives it (the unnest column, its array
    element type, how a value becomes the column's); ``alias`` None: not a parameter (``value`` is
    computed inside the statement). ``truth``: the same column computed from ``player_events``
    rows (a GROUP BY key, or an aggregate for a measure); None: ``verify`` cannot recompute it (the
    reason in ``note``). ``merge``: a measure's ON CONFLICT update (SUM, LEAST, ...)."""

    name: str
    alias: str | None
    array: str
    value: str = AS_IS
    truth: str | None = None
    merge: str | None = KEEP
    note: str = ""


@dataclass(frozen=True)
class Trim:
    """How retention trims a rollup: by ``column`` (a date when ``is_date``) past the policy of ``store``."""

    store: str
    column: str
    is_date: bool = False


@dataclass(frozen=True)
class Rollup:
    """One rollup table. ``name`` is its field of the write path's aggregates
    (``processors.rollups.Rollups``, whose rows are the parameter columns in declaration order)
    and the prefix of its parameters. ``where``: the player_events rows it aggregates.
    ``distinct_of``: a set rollup whose newly inserted rows this one counts (a measure with no
    parameter, ``value`` over ``u.n``). ``holds_players``: erased with a player (else anonymous).
    ``trim``: retention's rule, None when kept for the player's lifetime (erased only)."""

    name: str
    table: str
    keys: tuple[Column, ...]
    measures: tuple[Column, ...] = ()
    where: str | None = None
    holds_players: bool = False
    trim: Trim | None = None
    distinct_of: str | None = None
    doc: str = ""

    @property
    def columns(self) -> tuple[Column, ...]:
        return (*self.keys, *self.measures)

    @property
    def key_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.keys)

    @property
    def params(self) -> tuple[Column, ...]:
        """The columns the write path passes, in the order of the aggregates' row tuples."""
        return tuple(c for c in self.columns if c.alias is not None)

    def param(self, column: Column) -> str:
        return f"{self.name}_{column.alias}"


def _game(alias: str = "g") -> Column:
    return Column("game_id", alias, "text", truth="game_id")


def _player(alias: str) -> Column:
    return Column("player_id", alias, "text", truth="player_id")


MINUTE_PLAYERS = Rollup(
    "minute_players", "rollup_minute_players",
    keys=(_game(), Column("bucket", "b", "int8", EPOCH_MS, UTC_MINUTE), Column("event_type", "t", "text", truth="event_type"),
          _player("p")),
    holds_players=True, trim=Trim("rollups", "bucket"),
    doc="(game, minute, event type, player): who counts in event_rollup_minute.unique_players",
)
EVENTS_PER_MINUTE = Rollup(
    "minutes", "event_rollup_minute",
    keys=(_game(), Column("bucket", "b", "int8", EPOCH_MS, UTC_MINUTE), Column("event_type", "t", "text", truth="event_type")),
    measures=(
        Column("events", "e", "int8", truth="count(*)", merge=SUM),
        Column("unique_players", None, "int8", "coalesce(u.n, 0)", "count(DISTINCT player_id)", SUM,
               note="the rows this statement added to rollup_minute_players"),
        Column("revenue_usd", "r", "int8", MICRO_USD, "coalesce(sum(revenue_usd), 0)", SUM),
    ),
    distinct_of="minute_players", trim=Trim("rollups", "bucket"),
    doc="(game, minute, event type) -> events, unique players, revenue: time series, live views",
)
DAILY_ACTIVITY = Rollup(
    "daily", "player_daily_activity",
    keys=(_game(), Column("day", "d", "int4", DAY_NUMBER, UTC_DAY), _player("p")),
    measures=(
        Column("events", "e", "int4", truth="count(*)", merge=SUM),
        Column("sessions", "s", "int4", truth="count(*) FILTER (WHERE event_type = 'session_start')", merge=SUM),
        Column("revenue_usd", "r", "int8", MICRO_USD, "coalesce(sum(revenue_usd), 0)", SUM),
    ),
    holds_players=True, trim=Trim("rollups", "day", is_date=True),
    doc="(game, day, player) -> events, sessions, revenue: DAU/WAU/MAU, retention, revenue",
)
PLAYERS = Rollup(
    "players", "players",
    keys=(_game(), _player("pl")),
    measures=(
        Column("first_seen", "f", "int8", EPOCH_MS, "min(event_time)", LEAST),
        Column("last_seen", "l", "int8", EPOCH_MS, "max(event_time)", GREATEST),
        Column("events", "e", "int8", truth="count(*)", merge=SUM),
        Column("sessions", "s", "int8", truth="count(*) FILTER (WHERE event_type = 'session_start')", merge=SUM),
        Column("lifetime_revenue_usd", "r", "int8", MICRO_USD, "coalesce(sum(revenue_usd), 0)", SUM),
        Column("purchases", "pu", "int8", truth="count(*) FILTER (WHERE event_type = 'purchase')", merge=SUM),
        Column("platform", "pf", "text", merge=NEWEST, note="newest non-null value: no plain aggregate"),
        Column("country", "c", "text", merge=NEWEST, note="newest non-null value: no plain aggregate"),
        Column("app_version", "v", "text", merge=NEWEST, note="newest non-null value: no plain aggregate"),
    ),
    holds_players=True, trim=None,
    doc="(game, player) -> first/last seen, events, sessions, revenue, purchases, newest dimensions: profiles, cohorts",
)
SESSIONS = Rollup(
    "sessions", "sessions",
    keys=(_game(), Column("session_id", "se", "text", truth="session_id")),
    measures=(
        Column("player_id", "pl", "text", note="the smallest player id of the first group that saw the session"),
        Column("started_at", "f", "int8", EPOCH_MS, "min(event_time)", LEAST),
        Column("last_event_at", "l", "int8", EPOCH_MS, "max(event_time)", GREATEST),
        Column("ended_at", "x", "int8", EPOCH_MS, merge=NEWEST, note="the newest group's session_end"),
        Column("duration_s", "d", "float8", merge=NEWEST, note="the newest group's session_end duration_s"),
        Column("events", "e", "int4", truth="count(*)", merge=SUM),
    ),
    where="session_id IS NOT NULL", holds_players=True, trim=Trim("player_events", "last_event_at"),
    doc="(game, session) -> player, start, last event, end, duration, events: session length, concurrency",
)
MATCH_OUTCOMES = Rollup(
    "matches", "match_outcomes_hourly",
    keys=(_game(), Column("bucket", "b", "int8", EPOCH_MS, UTC_HOUR),
          Column("mode", "mode", "text", truth="properties->>'mode'"),
          Column("outcome", "outcome", "text", truth="properties->>'outcome'")),
    measures=(Column("matches", "c", "int8", truth="count(*)", merge=SUM),),
    where="event_type = 'match_result'", trim=Trim("rollups", "bucket"),
    doc="(game, hour, mode, outcome) -> match results: fairness",
)

# In write order: a set rollup before the one counting it.
ROLLUPS: tuple[Rollup, ...] = (MINUTE_PLAYERS, EVENTS_PER_MINUTE, DAILY_ACTIVITY, PLAYERS, SESSIONS, MATCH_OUTCOMES)
BY_NAME = {r.name: r for r in ROLLUPS}


# --- the write path ---------------------------------------------------------------------------

def _unnest(r: Rollup, alias: str) -> str:
    arrays = ", ".join(f"%({r.param(c)})s::{c.array}[]" for c in r.params)
    names = ", ".join(c.alias for c in r.params if c.alias is not None)
    return f"unnest({arrays}) WITH ORDINALITY AS {alias}({names}, n)"


def _conflict(r: Rollup) -> str:
    updates = [f"{c.name} = {c.merge.format(old=OLD, col=c.name)}" for c in r.measures if c.merge is not None]
    if not updates:
        return "ON CONFLICT DO NOTHING"
    return f"ON CONFLICT ({', '.join(r.key_names)}) DO UPDATE SET\n        " + ",\n        ".join(updates)


def _cte(r: Rollup) -> str:
    """One rollup's upsert: its rows inserted in the order given (the key order), so two workers
    sharing rollup rows take them in one order and wait instead of deadlocking."""
    target = f"INSERT INTO {r.table} AS {OLD} ({', '.join(c.name for c in r.columns)})"
    if r.distinct_of is None:
        select = ", ".join(c.value.format(c.alias) for c in r.columns)
        body = f"SELECT {select}\n    FROM {_unnest(r, 'k')}\n    ORDER BY n"
    else:
        of = BY_NAME[r.distinct_of]
        inner = ", ".join(c.value.format(c.alias) + ("" if c.value == AS_IS else f" AS {c.alias}") for c in r.params)
        select = ", ".join(f"k.{c.alias}" if c.alias is not None else c.value for c in r.columns)
        join = " AND ".join(f"u.{c.name} = k.{c.alias}" for c in r.keys)
        body = (f"SELECT {select}\n    FROM (SELECT {inner}, n\n          FROM {_unnest(r, 'x')}) k\n"
                f"    LEFT JOIN {of.name}_new u ON {join}\n    ORDER BY k.n")
    return f"{target}\n    {body}\n    {_conflict(r)}"


def upsert_sql(rollups: Sequence[Rollup] = ROLLUPS) -> str:
    """The write path's one statement: every rollup's upsert as a data-modifying CTE. A set rollup
    counted by another returns its newly inserted keys, which that one counts (so a replay, whose
    rows are all there already, adds nothing)."""
    ctes: list[str] = []
    for r in rollups:
        counted_by = [o for o in rollups if o.distinct_of == r.name]
        if counted_by:
            keys = counted_by[0].key_names
            ctes.append(f"{r.name}_inserted AS (\n    {_cte(r)}\n    RETURNING {', '.join(keys)}\n)")
            ctes.append(f"{r.name}_new AS (\n    SELECT {', '.join(keys)}, count(*) AS n FROM {r.name}_inserted "
                        f"GROUP BY {', '.join(str(i + 1) for i in range(len(keys)))}\n)")
        else:
            ctes.append(f"{r.name}_up AS (\n    {_cte(r)}\n)")
    return "WITH " + ",\n".join(ctes) + "\nSELECT 1\n"


def upsert_params(rows_by_rollup: dict[str, Sequence[tuple[Any, ...]]],
                  rollups: Sequence[Rollup] = ROLLUPS) -> dict[str, list[Any]]:
    """Each rollup's rows (tuples of its parameter columns, sorted by key) -> :func:`upsert_sql`'s
    parameters, one list per column."""
    params: dict[str, list[Any]] = {}
    for r in rollups:
        rows = rows_by_rollup[r.name]
        columns = list(zip(*rows)) if rows else [() for _ in r.params]
        params.update({r.param(c): list(col) for c, col in zip(r.params, columns)})
    return params


# --- verify ------------------------------------------------------------------------------------

def verified(r: Rollup) -> tuple[Column, ...]:
    """The columns ``verify`` compares: the keys and every measure with a truth."""
    return tuple(c for c in r.columns if c.truth is not None)


def verify_sql(r: Rollup) -> tuple[str, str]:
    """(the table's rows, the same rows recomputed by a GROUP BY over player_events)."""
    columns = verified(r)
    stored = f"SELECT {', '.join(c.name for c in columns)} FROM {r.table}"
    where = f" WHERE {r.where}" if r.where else ""
    group = ", ".join(str(i + 1) for i in range(len(r.keys)))
    truth = f"SELECT {', '.join(str(c.truth) for c in columns)} FROM player_events{where} GROUP BY {group}"
    return stored, truth


# --- retention ---------------------------------------------------------------------------------

def trimmed(rollups: Iterable[Rollup] = ROLLUPS) -> tuple[tuple[str, str, str, bool], ...]:
    """(policy store, table, time column, is it a date) of each rollup retention trims."""
    return tuple((r.trim.store, r.table, r.trim.column, r.trim.is_date) for r in rollups if r.trim is not None)


def trim_sql(table: str, column: str, one_game: bool) -> str:
    """The rows of ``table`` older than a bound: of one game (``game_id = %s AND ... < %s``), or of
    every game but the listed ones (``... < %s AND game_id <> ALL(%s)``)."""
    if one_game:
        return f"DELETE FROM {table} WHERE game_id = %s AND {column} < %s"
    return f"DELETE FROM {table} WHERE {column} < %s AND game_id <> ALL(%s)"


def erased_tables(rollups: Iterable[Rollup] = ROLLUPS) -> tuple[str, ...]:
    """The rollup tables holding a player's rows: deleted when the player is erased."""
    return tuple(r.table for r in rollups if r.holds_players)


def anonymous_tables(rollups: Iterable[Rollup] = ROLLUPS) -> tuple[str, ...]:
    """The rollup tables with no player in them: kept after an erase (counts only)."""
    return tuple(r.table for r in rollups if not r.holds_players)
