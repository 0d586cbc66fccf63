"""Alembic environment: runs on the connection and schema handed in by store.migrate."""

from alembic import context
from sqlalchemy import text

config = context.config
connection = config.attributes["connection"]
schema = config.attributes["schema"]

connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
connection.execute(text(f'SET search_path TO "{schema}", public'))
connection.commit()
context.configure(connection=connection, version_table_schema=schema, transaction_per_migration=True)
with context.begin_transaction():
    context.run_migrations()
connection.commit()
