"""ASGI factory for uvicorn worker processes: each process resolves its settings once, when built."""

from starlette.types import ASGIApp

from gamemetrics.commands import command_settings
from gamemetrics.exposition import MetricsExposition
from gamemetrics.runtime import tune_gc
from ingest.app import create_app
from ingest.settings import load_ingest_settings
from schemas.wire import plain_codec


def build() -> ASGIApp:
    settings = command_settings()
    app = create_app(settings, load_ingest_settings(), plain_codec(settings.avro_codec), MetricsExposition.of_this_process())
    tune_gc()
    return app
