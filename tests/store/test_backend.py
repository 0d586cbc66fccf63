"""store/backend.py: which backend a schema gets, and the clear failure when TimescaleDB is asked
for but the server cannot run it."""

import pytest

from store.backend import TimescaleProbe, choose_backend
from store.errors import StoreError
from store.settings import StoreSettings

ABSENT = TimescaleProbe(installed_version=None, installed_schema=None, available=False, preloaded=False)
NOT_PRELOADED = TimescaleProbe(installed_version=None, installed_schema=None, available=True, preloaded=False)
PRELOADED = TimescaleProbe(installed_version=None, installed_schema=None, available=True, preloaded=True)
CREATED = TimescaleProbe(installed_version="2.28.3", installed_schema="public", available=True, preloaded=True)


@pytest.mark.parametrize(
    ("choice", "found", "backend"),
    [
        ("auto", ABSENT, "native"),
        ("auto", NOT_PRELOADED, "native"),  # CREATE EXTENSION would kill the session: never tried
        ("auto", PRELOADED, "timescaledb"),
        ("auto", CREATED, "timescaledb"),
        ("native", CREATED, "native"),
        ("timescaledb", PRELOADED, "timescaledb"),
    ],
)
def test_the_backend_follows_the_choice_and_what_the_server_can_run(choice, found, backend):
    assert choose_backend(choice, found) == backend


@pytest.mark.parametrize(
    ("found", "reason"),
    [(ABSENT, "not installed on this PostgreSQL server"), (NOT_PRELOADED, "add timescaledb to shared_preload_libraries")],
)
def test_timescaledb_asked_for_but_absent_fails_saying_why(found, reason):
    with pytest.raises(StoreError, match="GAMEMETRICS_STORE_BACKEND=timescaledb") as failure:
        choose_backend("timescaledb", found)
    assert reason in str(failure.value)


def test_the_setting_is_read_from_gamemetrics_store_backend(monkeypatch):
    monkeypatch.delenv("GAMEMETRICS_STORE_BACKEND", raising=False)
    assert StoreSettings().backend == "auto"
    monkeypatch.setenv("GAMEMETRICS_STORE_BACKEND", "native")
    assert StoreSettings().backend == "native"
    monkeypatch.setenv("GAMEMETRICS_STORE_BACKEND", "timescale")
    with pytest.raises(ValueError):
        StoreSettings()
