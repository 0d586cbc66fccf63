"""The notification process's Faust wiring (``gamemetrics notifications worker``): the rules agent and
the delivery agent of ``agents.py`` on an app of their own, in their own consumer group
(``streams.app.NOTIFICATIONS_APP_ID``), so delivery scales and fails apart from landing.

    player.events.processed -> rules -> notifications topic -> delivery -> channels / system.dlq

Run it beside ``gamemetrics worker --no-notifications``, never beside a worker that still runs the
agents: both consumer groups would read every processed batch, and although the delivery log skips
a notification already delivered, two processes racing on the same one can both send it.
"""

from __future__ import annotations

import faust

from gamemetrics.settings import Settings
from processors.notifications.agents import register
from processors.notifications.settings import NotificationSettings
from streams.app import NOTIFICATIONS_APP_ID, create_app
from streams.producer import EventProducer


def build_notifications_app(settings: Settings, notify: NotificationSettings) -> faust.App:
    """A Faust app with only the notification agents; every setting is passed in (read once by the command)."""
    app = create_app(settings, app_id=NOTIFICATIONS_APP_ID)
    producer = EventProducer(settings.kafka_bootstrap_servers, security=settings.kafka_security())
    register(app, settings, producer, notify)
    return app
