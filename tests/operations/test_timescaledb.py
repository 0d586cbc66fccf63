"""operations/stack/timescaledb.py: the TimescaleDB bundle installed into a PostgreSQL (a copy of
Debian's, so the system's own stays untouched), idempotently; no bundle, nothing needed."""

import shutil
from pathlib import Path

import pytest

from operations.stack.postgres import bindir, timescaledb_installed
from operations.stack.settings import DEFAULT_TIMESCALEDB_BUNDLE
from operations.stack.timescaledb import bundle_script, install_bundle


def test_without_a_bundle_nothing_is_installed_and_nothing_fails(tmp_path):
    said: list[str] = []
    assert install_bundle(tmp_path, bindir(), said.append) is False
    assert "no bundle" in said[0] and "optional" in said[0]


def test_the_bundle_installs_into_a_postgresql_and_a_second_run_changes_nothing(tmp_path):
    system = bindir()
    if system is None or bundle_script(DEFAULT_TIMESCALEDB_BUNDLE) is None:
        pytest.skip(f"needs Debian's PostgreSQL and the bundle in {DEFAULT_TIMESCALEDB_BUNDLE}")
    major = system.parent.name  # /usr/lib/postgresql/<major>/bin
    copy = tmp_path / "usr"
    shutil.copytree(system.parent, copy / "lib" / "postgresql" / major, symlinks=True)
    shutil.copytree(Path("/usr/share/postgresql") / major, copy / "share" / "postgresql" / major, symlinks=True)
    bin_dir = copy / "lib" / "postgresql" / major / "bin"
    (copy / "share" / "postgresql" / major / "extension" / "timescaledb.control").unlink(missing_ok=True)
    assert not timescaledb_installed(bin_dir)
    said: list[str] = []
    assert install_bundle(DEFAULT_TIMESCALEDB_BUNDLE, bin_dir, said.append) is True
    assert timescaledb_installed(bin_dir)
    assert install_bundle(DEFAULT_TIMESCALEDB_BUNDLE, bin_dir, said.append) is True
    assert "Done: 0 file(s) installed" in said[-1], said
