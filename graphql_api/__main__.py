"""``python -m graphql_api``: serve, tokens create|list|revoke, export-schema (also mounted in ``gamemetrics``)."""

from gamemetrics.commands import apply_conventions
from graphql_api.cli import app

apply_conventions(app)(prog_name="python -m graphql_api")
