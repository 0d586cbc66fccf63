"""ASGI factory for uvicorn worker processes: each process resolves its settings once, when built."""

from fastapi import FastAPI

from gamemetrics.commands import command_settings
from gamemetrics.exposition import MetricsExposition
from gamemetrics.settings import load_tracing_settings
from gamemetrics.tracing import configure_tracing
from graphql_api.app import create_app
from graphql_api.settings import load_graphql_settings


def build() -> FastAPI:
    settings = command_settings()
    tracing = configure_tracing("gamemetrics-graphql", load_tracing_settings())  # None unless OTEL_TRACES_EXPORTER
    return create_app(settings, load_graphql_settings(), MetricsExposition.of_this_process(), tracing)
