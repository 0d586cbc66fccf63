"""Cron-driven retention, archival and GDPR erase/export jobs. Not built yet."""
