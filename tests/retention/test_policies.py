"""retention/policies.py and the pure pieces of the archive layout."""

from __future__ import annotations

from datetime import date

from retention.manifest import object_key
from retention.policies import Policies
from retention.rows import COLUMNS, DUCK_ROW_HASH, PG_ROW_HASH
from retention.settings import RetentionSettings

DEFAULTS = Policies({"player_events": 90, "archive": 730, "rollups": 761, "dead_letters": 30, "notification_log": 30})


def test_defaults_are_what_a_studio_expects():
    s = RetentionSettings()
    assert (s.events_hot_days, s.archive_days, s.rollup_days, s.dead_letter_days, s.notification_log_days) == (
        90, 730, 761, 30, 30)


def test_a_game_override_wins_and_the_shortest_policy_bounds_the_scan():
    policies = Policies(DEFAULTS.defaults, {("g2", "player_events"): 30, ("g3", "player_events"): 400})
    today = date(2026, 12, 1)
    assert policies.cutoff("player_events", today) == date(2026, 9, 2)
    assert policies.cutoff("player_events", today, "g2") == date(2026, 11, 1)
    assert policies.days("archive", "g2") == 730
    assert policies.shortest("player_events") == 30
    assert policies.overridden_games("player_events") == {"g2", "g3"}


def test_objects_are_laid_out_hive_style_by_game_and_day():
    assert object_key("g1", date(2026, 1, 5), 2) == "events/game_id=g1/date=2026-01-05/part-0002.parquet"


def test_both_checksums_cover_every_column_in_the_same_order():
    for column in COLUMNS:
        assert column in PG_ROW_HASH and column in DUCK_ROW_HASH
    assert PG_ROW_HASH.count("coalesce(") == DUCK_ROW_HASH.count("coalesce(") == len(COLUMNS)
