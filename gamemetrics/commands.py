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

    from gamemetrics.keys import InsecureKey, require_strong
    from gamemetrics.settings import core_keys

    settings = load_settings()
    configure_logging(settings)
    try:
        require_strong(settings.env, core_keys(settings))
    except InsecureKey as exc:  # outside the local stack: no service starts on a public key
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise SystemExit(2) from exc
    return settings


def say(message: str) -> None:
    """Progress and notes go to stderr, so stdout stays machine-readable."""
    typer.echo(message, err=True)


def fail(exc: GameMetricsError, code: int = 1) -> NoReturn:
    """Print a project error in red and leave with ``code``."""
    typer.secho(f"error: {exc}", fg="red", err=True)
    raise typer.Exit(code) from exc


def serve_asgi(factory: str, host: str, port: int, workers: int, server: str = "uvicorn") -> None:
    """Run the ASGI app that ``factory`` ("module:function") builds, in ``workers`` processes
    (with more than one, prometheus_client's multiprocess directory is made before they start),
    served by uvicorn or granian (a Rust HTTP server; its worker processes are spawned, not forked,
    so each imports prometheus_client with the directory set)."""
    from gamemetrics.exposition import multiprocess_dir

    if server not in ("uvicorn", "granian"):
        raise typer.BadParameter(f"--server {server!r}: uvicorn or granian")
    command_settings()
    with multiprocess_dir(workers):
        if server == "granian":
            import multiprocessing

            try:
                from granian.constants import Interfaces
                from granian.log import LogLevels
                from granian.server import Server
            except ImportError as exc:
                raise typer.BadParameter("--server granian needs granian: pip install 'gamemetrics[granian]'") from exc

            multiprocessing.set_start_method("spawn", force=True)
            Server(
                factory, address=host, port=port, interface=Interfaces.ASGI, workers=workers, factory=True,
                log_level=LogLevels.warning, log_access=False, websockets=False,
            ).serve()
            return
        import uvicorn

        uvicorn.run(
            factory, factory=True, host=host, port=port, workers=workers, log_level="warning",
            access_log=False, proxy_headers=True,
        )
