"""ASGI factory for uvicorn worker processes: each process resolves its settings once, when built."""

from starlette.types import ASGIApp

from gamemetrics.commands import command_settings
from gamemetrics.exposition import MetricsExposition
from gamemetrics.runtime import tune_gc
from gamemetrics.settings import load_tracing_settings
from gamemetrics.tracing import configure_tracing
from ingest.app import create_app
from ingest.settings import load_ingest_settings
from schemas.wire import plain_codec


def build() -> ASGIApp:
    settings = command_settings()
    tracing = configure_tracing("gamemetrics-ingest", load_tracing_settings())  # None unless OTEL_TRACES_EXPORTER
    app = create_app(settings, load_ingest_settings(), plain_codec(settings.avro_codec), MetricsExposition.of_this_process(),
                     tracing)
    tune_gc()
    return app
