"""Settings of notification delivery, read once at start-up from ``GAMEMETRICS_NOTIFY_*``.

The worker resolves them with :func:`load_notification_settings` and passes them to
``register_notification_agents``; nothing below reads the environment.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from gamemetrics.retry import (
    DEFAULT_FIRST_DELAY_S,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_DELAY_S,
    RetryPolicy,
)

SMTP_PORT = 25


class NotificationSettings(BaseSettings):
    """Where each channel delivers, how deliveries are retried, how often rules are reloaded."""

    model_config = SettingsConfigDict(env_prefix="GAMEMETRICS_NOTIFY_", frozen=True, extra="ignore")

    smtp_host: str = Field("127.0.0.1", description="SMTP server of the email channel.")
    smtp_port: int = Field(SMTP_PORT, gt=0, lt=65536, description="Its port.")
    smtp_from: str = Field("GameMetrics <notifications@gamemetrics.invalid>", description="From: of every email.")
    smtp_starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS before sending.")
    smtp_username: str = Field("", description="SMTP login; empty = no authentication.")
    smtp_password: SecretStr = Field(SecretStr(""), description="SMTP password.")
    webhook_secret: SecretStr = Field(
        SecretStr(""),
        description="HMAC-SHA256 key of X-GameMetrics-Signature; empty = webhook notifications go to the DLQ unsent.",
    )
    push_provider_url: str = Field("", description="Push provider endpoint (HTTP POST, JSON); empty = push disabled.")
    push_provider_token: SecretStr = Field(SecretStr(""), description="Bearer token for the push provider, if any.")
    sms_provider_url: str = Field("", description="SMS provider endpoint (HTTP POST, JSON); empty = SMS disabled.")
    sms_provider_token: SecretStr = Field(SecretStr(""), description="Bearer token for the SMS provider, if any.")
    send_timeout_s: float = Field(10.0, gt=0, description="Longest wait for one SMTP or HTTP attempt.")
    retry_max_attempts: int = Field(DEFAULT_MAX_ATTEMPTS, ge=1, description="Attempts per notification before the DLQ.")
    retry_first_delay_s: float = Field(
        DEFAULT_FIRST_DELAY_S, ge=0, description="Wait after the first failed attempt; doubles each time."
    )
    retry_max_delay_s: float = Field(DEFAULT_MAX_DELAY_S, ge=0, description="Longest wait between two attempts.")
    rules_refresh_s: float = Field(30.0, gt=0, description="How often each worker reloads notification_rules.")

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(self.retry_max_attempts, self.retry_first_delay_s, self.retry_max_delay_s)


def load_notification_settings(**overrides: object) -> NotificationSettings:
    """Read the settings from the environment once; ``overrides`` win over the environment."""
    return NotificationSettings(**overrides)  # type: ignore[arg-type]
