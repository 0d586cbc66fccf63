"""ASGI entry point for uvicorn worker processes: settings are read once per process here."""

from gamemetrics.logs import configure_logging
from gamemetrics.settings import load_settings
from ingest.app import create_app

settings = load_settings()
configure_logging(settings)
app = create_app(settings)
