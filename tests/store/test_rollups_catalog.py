"""store/rollups.py: every rollup is declared once, matches the migrated schema, and every user
(the write path, verify, retention and GDPR, the queries) takes it from there."""

from __future__ import annotations

import ast
import re
import typing
from dataclasses import fields
from pathlib import Path

import pytest

from store.rollups import ROLLUPS, anonymous_tables, erased_tables, trimmed, upsert_sql, verify_sql

ROOT = Path(__file__).resolve().parents[2]
TABLES = {r.table for r in ROLLUPS}

# Every other table of the migrated schema, and why it is not a rollup: a table added by a
# migration is a rollup (declared in store/rollups.py) or is named here.
NOT_ROLLUPS = {
    "player_events": "the raw events the rollups aggregate",
    "event_keys": "landing's dedup keys",
    "games": "tenants", "api_keys": "tenants' keys", "gameanalytics_keys": "tenants' keys",
    "currency_rates": "reference data", "retention_policies": "settings", "notification_rules": "settings",
    "notification_deliveries": "a delivery log", "gdpr_requests": "GDPR bookkeeping",
    "player_tombstones": "GDPR bookkeeping", "gdpr_leases": "GDPR bookkeeping", "audit_log": "GDPR bookkeeping",
    "archive_manifest": "retention bookkeeping", "archive_players": "retention bookkeeping",
    "alembic_version": "Alembic",
}
# The packages that run SQL; only store/rollups.py (and the migrations) may name a rollup table in it.
STAGES = ("gamemetrics", "schemas", "streams", "ingest", "processors", "store", "recommender", "graphql_api",
          "retention", "operations")
SQL_NAMING = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+(\w+)")


def test_each_rollup_and_each_table_is_declared_once():
    assert len({r.name for r in ROLLUPS}) == len(ROLLUPS)
    assert len(TABLES) == len(ROLLUPS)
    for r in ROLLUPS:
        names = [c.name for c in r.columns]
        assert len(set(names)) == len(names), r.table
        assert all(c.merge is None for c in r.keys), r.table


def test_the_write_paths_aggregates_are_the_declared_rollups_in_order():
    from processors.postgres_sink import _ROLL_UP, roll_up_params
    from processors.rollups import Rollups

    assert [f.name for f in fields(Rollups)] == [r.name for r in ROLLUPS]
    hints = typing.get_type_hints(Rollups)
    for r in ROLLUPS:
        (row,) = typing.get_args(hints[r.name])  # list[tuple[...]]
        assert len(typing.get_args(row)) == len(r.params), f"{r.name}: a row is its parameter columns"
    assert _ROLL_UP == upsert_sql()
    for r in ROLLUPS:
        assert f"INSERT INTO {r.table} AS" in _ROLL_UP
    assert set(roll_up_params(Rollups())) == {r.param(c) for r in ROLLUPS for c in r.params}


def test_a_set_rollup_is_written_before_the_rollup_counting_it():
    order = [r.name for r in ROLLUPS]
    for r in ROLLUPS:
        if r.distinct_of is not None:
            assert order.index(r.distinct_of) < order.index(r.name)


def test_verify_checks_every_rollup_by_its_key():
    from store.verify import CHECKS

    assert set(CHECKS) == TABLES
    for r in ROLLUPS:
        stored, truth = CHECKS[r.table]
        assert (stored, truth) == verify_sql(r)
        assert all(c.truth is not None for c in r.keys), f"{r.table}: verify groups by every key column"


def test_retention_trims_or_erases_every_rollup():
    from retention.gdpr.forgetters import PLAYER_TABLES
    from retention.gdpr.job import kept
    from retention.policies import STORES
    from retention.sweep import TRIMMED

    for r in ROLLUPS:
        assert r.trim is not None or r.holds_players, f"{r.table}: neither trimmed nor erased"
        if r.trim is not None:
            assert r.trim.store in STORES
            assert (r.trim.store, r.table, r.trim.column, r.trim.is_date) in TRIMMED
    assert [t for _, t, _, _ in TRIMMED if t in TABLES] == [t for _, t, _, _ in trimmed()]
    assert set(erased_tables()) <= set(PLAYER_TABLES)
    assert set(erased_tables()) | set(anonymous_tables()) == TABLES
    assert kept()["anonymous_aggregates"] == list(anonymous_tables())


def _sql_strings(path: Path) -> list[tuple[int, str]]:
    """The string constants of a module (f-string parts included), docstrings left out."""
    tree = ast.parse(path.read_text(), str(path))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def test_no_module_but_the_catalog_names_a_rollup_table_in_sql():
    found = []
    for package in STAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel == "store/rollups.py" or rel.startswith("store/migrations/"):
                continue
            for line, text in _sql_strings(path):
                found += [f"{rel}:{line}: {name}" for name in SQL_NAMING.findall(text) if name in TABLES]
    assert found == [], "use store.rollups (the rollup's .table, or SQL rendered from its declaration)"


def test_the_scan_sees_a_rollup_table_named_in_sql(tmp_path):
    module = tmp_path / "m.py"
    module.write_text('"""Reads from event_rollup_minute."""\nQ = f"SELECT 1 FROM event_rollup_minute WHERE x = {1}"\n')
    assert [text for _, text in _sql_strings(module) if SQL_NAMING.search(text)] == ["SELECT 1 FROM event_rollup_minute WHERE x = "]


@pytest.mark.integration
def test_the_migrated_schema_has_each_rollup_as_declared_and_no_undeclared_table(isolated):
    from store import db

    with db.connect(isolated, autocommit=True) as conn:
        tables = {name for (name,) in conn.execute(
            "SELECT c.relname FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace "
            "AND c.relkind IN ('r', 'p') AND NOT c.relispartition")}
        columns = {(t, c) for t, c in conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()")}
        unique_keys = {(t, tuple(sorted(cols))) for t, cols in conn.execute(
            "SELECT i.indrelid::regclass::text, array_agg(a.attname::text) FROM pg_index i "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
            "WHERE i.indisunique AND i.indrelid::regclass::text = ANY(%s) GROUP BY i.indexrelid, 1", (sorted(TABLES),))}
    assert sorted(tables - TABLES - set(NOT_ROLLUPS)) == [], "a new table: declare it in store/rollups.py or NOT_ROLLUPS"
    for r in ROLLUPS:
        assert r.table in tables
        assert {(r.table, c.name) for c in r.columns} <= columns, r.table
        assert (r.table, tuple(sorted(r.key_names))) in unique_keys, f"{r.table}: ON CONFLICT needs its key unique"
