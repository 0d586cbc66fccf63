"""``python -m graphql_api``: serve, tokens create, export-schema (also mounted in ``gamemetrics``)."""

from graphql_api.cli import app

app(prog_name="python -m graphql_api")
