"""processors/notifications/settings.py: GAMEMETRICS_NOTIFY_* read once, secrets kept secret."""

import pytest
from pydantic import ValidationError

from gamemetrics.retry import RetryPolicy
from processors.notifications.settings import NotificationSettings


def test_environment_variables_configure_channels_and_retries(monkeypatch):
    monkeypatch.setenv("GAMEMETRICS_NOTIFY_SMTP_HOST", "mail.internal")
    monkeypatch.setenv("GAMEMETRICS_NOTIFY_SMTP_PORT", "2525")
    monkeypatch.setenv("GAMEMETRICS_NOTIFY_WEBHOOK_SECRET", "s3cret")
    monkeypatch.setenv("GAMEMETRICS_NOTIFY_RETRY_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("GAMEMETRICS_NOTIFY_RETRY_FIRST_DELAY_S", "0.25")
    settings = NotificationSettings()
    assert (settings.smtp_host, settings.smtp_port) == ("mail.internal", 2525)
    assert settings.webhook_secret.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)
    assert settings.retry_policy() == RetryPolicy(max_attempts=3, first_delay_s=0.25, max_delay_s=60.0)


def test_nonsense_is_refused_at_startup():
    with pytest.raises(ValidationError, match="retry_max_attempts"):
        NotificationSettings(retry_max_attempts=0)
    with pytest.raises(ValidationError, match="smtp_port"):
        NotificationSettings(smtp_port=70000)
