"""Helpers every stage's CLI commands share (each stage owns its commands; ``operations.cli`` mounts them).

- ``command_settings()``: the settings of this process, read once, with logging configured;
- ``say()`` / ``fail()``: progress on stderr, and a project error turned into exit status 1;
- ``serve_asgi()``: one uvicorn block for every HTTP service (factory apps, N worker processes,
  their metrics summed across the processes: gamemetrics/exposition.py).
"""

from __future__ import annotations

from typing import NoReturn

import typer

from gamemetrics.errors import GameMetricsError
from gamemetrics.settings import Settings, load_settings


def command_settings() -> Settings:
    """Read the settings from the environment (once per command or service process) and configure structured logs."""
    from gamemetrics.logs import configure_logging

    settings = load_settings()
    configure_logging(settings)
    return settings


def say(message: str) -> None:
    """Progress and notes go to stderr, so stdout stays machine-readable."""
    typer.echo(message, err=True)


def fail(exc: GameMetricsError, code: int = 1) -> NoReturn:
    """Print a project error in red and leave with ``code``."""
    typer.secho(f"error: {exc}", fg="red", err=True)
    raise typer.Exit(code) from exc


def serve_asgi(factory: str, host: str, port: int, workers: int) -> None:
    """Run the ASGI app that ``factory`` ("module:function") builds, in ``workers`` processes
    (with more than one, prometheus_client's multiprocess directory is made before they start)."""
    import uvicorn

    from gamemetrics.exposition import multiprocess_dir

    command_settings()
    with multiprocess_dir(workers):
        uvicorn.run(
            factory, factory=True, host=host, port=port, workers=workers, log_level="warning",
            access_log=False, proxy_headers=True,
        )
