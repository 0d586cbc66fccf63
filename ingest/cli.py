"""Commands of ingest, mounted by ``operations.cli``: ``gamemetrics serve ingest``."""

from __future__ import annotations

from typing import Annotated

import typer

from gamemetrics.commands import serve_asgi


def serve_ingest(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8080,
    workers: Annotated[int, typer.Option(help="Number of server processes.")] = 1,
    server: Annotated[str, typer.Option(help="HTTP server: uvicorn or granian.")] = "uvicorn",
) -> None:
    """Run the ingest HTTP service (POST /v1/events).

    Settings: GAMEMETRICS_INGEST_* (limits, rate limit, key cache; see ingest/settings.py).
    """
    serve_asgi("ingest.main:build", host, port, workers, server)
