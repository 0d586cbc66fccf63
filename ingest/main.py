"""ASGI factory for uvicorn worker processes: each process reads its settings once, when built."""

from fastapi import FastAPI

from gamemetrics.logs import configure_logging
from gamemetrics.runtime import tune_gc
from gamemetrics.settings import load_settings
from ingest.app import create_app


def build() -> FastAPI:
    settings = load_settings()
    configure_logging(settings)
    app = create_app(settings)
    tune_gc()
    return app
