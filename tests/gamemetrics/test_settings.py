from pathlib import Path

import pytest
from pydantic import ValidationError

from gamemetrics.envvars import settings_env
from gamemetrics.settings import Settings


def test_defaults_point_at_the_local_stack(monkeypatch):
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "REDIS_URL", "QDRANT_URL", "SCHEMA_REGISTRY_URL", "STATE_DIR"):
        monkeypatch.delenv(f"GAMEMETRICS_{name}", raising=False)
    s = Settings()
    assert s.kafka_bootstrap_servers == "127.0.0.1:19092"
    assert s.database_url.startswith("postgresql://gamemetrics@127.0.0.1:15432/")
    assert s.redis_url == "redis://127.0.0.1:16379/0"
    assert s.qdrant_url == "" and s.schema_registry_url == ""
    assert s.state_dir == Path(".gamemetrics")
    assert not s.explicitly_set("database_url")


def test_environment_variables_win_and_are_marked_explicit(monkeypatch):
    monkeypatch.setenv("GAMEMETRICS_DATABASE_URL", "postgresql://u@db:5432/x")
    monkeypatch.setenv("GAMEMETRICS_KAFKA_BOOTSTRAP_SERVERS", "k1:9092,k2:9092")
    s = Settings()
    assert s.database_url == "postgresql://u@db:5432/x"
    assert s.sqlalchemy_url == "postgresql+psycopg://u@db:5432/x"
    assert s.explicitly_set("database_url") and s.explicitly_set("kafka_bootstrap_servers")
    assert not s.explicitly_set("redis_url")


def test_topic_prefix_applies_to_every_topic():
    assert Settings(topic_prefix="t1.").topic("player.events.raw") == "t1.player.events.raw"


def test_a_bad_schema_name_is_refused_at_startup():
    with pytest.raises(ValidationError):
        Settings(database_schema="drop table; --")


def test_settings_round_trip_through_child_environment(monkeypatch):
    original = Settings(topic_prefix="p.", database_schema="s1", state_dir=Path("/tmp/x"))
    for key, value in settings_env(original).items():
        monkeypatch.setenv(key, value)
    assert Settings() == original
