"""Structured logging (structlog), configured once per process from the settings."""

from __future__ import annotations

import logging
import sys

import structlog

from gamemetrics.redact import RedactingFilter, log_processor, url_passwords
from gamemetrics.settings import Settings


def known_secrets(settings: Settings) -> list[str]:
    """The credentials this process holds that could appear in an error text without their URL."""
    found = url_passwords(settings.database_url, settings.redis_url, settings.qdrant_url, settings.schema_registry_url)
    sasl = settings.kafka_sasl_password.get_secret_value()
    return [*found, sasl] if sasl else found


def configure_logging(settings: Settings) -> None:
    """Route stdlib and structlog records through one renderer (JSON in production), every field
    masked by ``gamemetrics.redact`` on the way (no password reaches a log line)."""
    secrets = known_secrets(settings)
    level = getattr(logging, settings.log_level.upper())
    renderer = (
        structlog.processors.JSONRenderer()
        if settings.log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            log_processor(secrets),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter(secrets))
    for noisy in ("alembic", "aiokafka", "kafka", "httpx"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
