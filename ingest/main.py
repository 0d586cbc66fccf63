"""ASGI factory for uvicorn worker processes: each process reads its settings once, when built."""

from fastapi import FastAPI

from gamemetrics.logs import configure_logging
from gamemetrics.settings import load_settings
from ingest.app import create_app


def build() -> FastAPI:
    settings = load_settings()
    configure_logging(settings)
    return create_app(settings)
