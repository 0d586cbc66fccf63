"""Install TimescaleDB into the local PostgreSQL from a bundle directory, when there is one.

The bundle (``install.sh`` and ``timescaledb-pg15-<version>.tar.gz``, built from the upstream
release for Debian's PostgreSQL 15) is optional: without it the stack runs native partitions. Its
``install.sh`` copies the libraries and the extension's SQL into ``pg_config``'s dirs and skips
identical files, so running it on every ``stack install`` is cheap. A user who installs
TimescaleDB from Timescale's own packages needs no bundle: ``stack up`` finds it the same way.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from operations.errors import StackError
from operations.stack import procs
from operations.stack.postgres import sharedir, timescaledb_installed


def bundle_script(bundle_dir: Path) -> Path | None:
    """``install.sh`` of the bundle when the directory holds one with an archive beside it."""
    script = bundle_dir / "install.sh"
    if script.is_file() and any(bundle_dir.glob("timescaledb-pg15-*.tar.gz")):
        return script
    return None


def install_bundle(bundle_dir: Path, bin_dir: Path | None, say: Callable[[str], None]) -> bool:
    """Run the bundle's installer against ``bin_dir``'s PostgreSQL; False when there is no bundle."""
    script = bundle_script(bundle_dir)
    if script is None:
        say(f"TimescaleDB: no bundle in {bundle_dir} (optional): native partitions unless TimescaleDB is installed")
        return False
    if bin_dir is None:
        raise StackError("TimescaleDB bundle found, but PostgreSQL is not installed")
    version = procs.run([str(bin_dir / "postgres"), "--version"], "asking PostgreSQL its version").stdout.strip()
    if " 15." not in version:
        say(f"TimescaleDB: the bundle in {bundle_dir} is for PostgreSQL 15, this one is {version}: skipped")
        return False
    if not os.access(sharedir(bin_dir) / "extension", os.W_OK):
        state = "installed already" if timescaledb_installed(bin_dir) else "not installed"
        say(f"TimescaleDB: installing the bundle into {bin_dir.parent} needs root: skipped ({state})")
        return False
    result = procs.run(
        ["bash", str(script)], "installing TimescaleDB from the bundle",
        env={**os.environ, "PG_CONFIG": str(bin_dir / "pg_config")},
    )
    summary = [line for line in result.stdout.splitlines() if line.startswith(("Installing", "Done"))]
    say("TimescaleDB: " + "; ".join(summary))
    return True
