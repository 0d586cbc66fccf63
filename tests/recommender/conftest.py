"""Fixtures of the recommender tests: the embedded store AND a real Qdrant server.

``qdrant_mode`` is parametrised over ``embedded`` (the default embedded engine, Qdrant's engine
in-process, in a tmp state dir) and
``server`` (the Qdrant bundle of ``../shared/qdrant``, started once for the session on free ports
under a tmp folder and stopped at the end). Without the bundle the server variants are skipped,
saying so; CI has it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from gamemetrics.settings import Settings
from tests.services import free_port


@pytest.fixture(scope="session")
def qdrant_server(tmp_path_factory) -> Iterator[str | None]:
    """URL of a Qdrant server for this session, or None when the bundle is absent."""
    from operations.stack.qdrant import LocalQdrant, find_bundle

    if os.environ.get("GAMEMETRICS_TEST_QDRANT_URL"):
        yield os.environ["GAMEMETRICS_TEST_QDRANT_URL"]
        return
    bundle = find_bundle()
    if bundle is None:
        yield None
        return
    server = LocalQdrant(bundle, tmp_path_factory.mktemp("qdrant-server"), free_port(), free_port())
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture(params=["embedded", "server"])
def qdrant_mode(request, qdrant_server) -> str:
    if request.param == "server" and qdrant_server is None:
        pytest.skip("no Qdrant server bundle (../shared/qdrant/qdrant-*-linux-x86_64.tar.gz with start.sh) beside "
                    "the checkout, and GAMEMETRICS_TEST_QDRANT_URL unset: the server variant is skipped")
    return request.param


@pytest.fixture
def rec_settings(isolated: Settings, qdrant_mode: str, qdrant_server: str | None, tmp_path: Path) -> Settings:
    """The test's isolated settings, pointed at the embedded store in a tmp state dir or at the server."""
    if qdrant_mode == "server":
        return isolated.model_copy(update={"qdrant_url": qdrant_server, "state_dir": tmp_path / "state"})
    return isolated.model_copy(update={"qdrant_url": "", "state_dir": tmp_path / "state"})

