"""Backups and point-in-time restore of the PostgreSQL store with pgBackRest (issue 26)."""
