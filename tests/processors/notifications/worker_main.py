"""A notification worker for the end-to-end tests: ``python -m tests.processors.notifications.worker_main``.

Builds the Faust app the way ``gamemetrics worker`` does, with only the notification agents, and
resolves every setting from the environment (GAMEMETRICS_*, GAMEMETRICS_NOTIFY_*) once, here.
"""

from __future__ import annotations

import faust

from gamemetrics.logs import configure_logging
from gamemetrics.settings import load_settings
from processors.notifications import register_notification_agents
from processors.notifications.settings import load_notification_settings
from streams.app import create_app
from streams.producer import EventProducer


def main() -> None:
    settings = load_settings()
    configure_logging(settings)
    app = create_app(settings)
    register_notification_agents(app, settings, EventProducer(settings.kafka_bootstrap_servers),
                                 load_notification_settings())
    faust.Worker(app, loglevel="warning", quiet=True, override_logging=False).execute_from_commandline()


if __name__ == "__main__":
    main()
