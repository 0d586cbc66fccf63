"""Notifications: processed events -> rules -> Notification records -> channels, retried, once each.

    player.events.processed -> rules.py (pure) -> notifications topic -> delivery.py -> channels.py
                                                                       \\-> system.dlq (delivery_failed)

Read in that order: ``rules`` (which rule fires; ids from ``model``), ``templates`` (the text),
``delivery`` (idempotency on ``delivery_log``, backoff from ``gamemetrics.retry``, the DLQ), ``channels`` (SMTP,
signed webhooks via ``signing``, push and SMS providers). ``agents`` wires them into Faust with the
Kafka ``sinks`` and a ``store.connections.WaitingConnection``; ``rules_store`` and ``cli`` manage the rules;
``settings`` holds ``GAMEMETRICS_NOTIFY_*``; ``errors`` the error hierarchy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import faust

    from gamemetrics.settings import Settings
    from processors.notifications.settings import NotificationSettings
    from streams.producer import EventProducer


def register_notification_agents(
    app: faust.App, settings: Settings, producer: EventProducer, notify: NotificationSettings
) -> None:
    """Declare the rules agent and the delivery agent on ``app``.

    ``notify`` is the worker's ``load_notification_settings()``, read once at start-up by the command.
    """
    from processors.notifications.agents import register

    register(app, settings, producer, notify)
