"""The PostgreSQL store: table definitions, Alembic migrations, time partitions, game registry."""
