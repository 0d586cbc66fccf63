"""ASGI factory for uvicorn worker processes: each process resolves its settings once, when built."""

from fastapi import FastAPI

from gamemetrics.commands import command_settings
from gamemetrics.exposition import MetricsExposition
from graphql_api.app import create_app
from graphql_api.settings import load_graphql_settings


def build() -> FastAPI:
    return create_app(command_settings(), load_graphql_settings(), MetricsExposition.of_this_process())
