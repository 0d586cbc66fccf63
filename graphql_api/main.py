"""ASGI factory for uvicorn worker processes: each process reads its settings once, when built."""

from fastapi import FastAPI

from gamemetrics.logs import configure_logging
from gamemetrics.settings import load_settings
from graphql_api.app import create_app
from graphql_api.settings import load_graphql_settings


def build() -> FastAPI:
    settings = load_settings()
    configure_logging(settings)
    return create_app(settings, load_graphql_settings())
