"""Turn settings back into the environment variables that child processes read at start-up."""

from __future__ import annotations

from pydantic import SecretStr

from gamemetrics.settings import Settings


def settings_env(settings: Settings) -> dict[str, str]:
    """``GAMEMETRICS_*`` variables that make a child process resolve the same settings."""
    env = {}
    for name, value in settings.model_dump().items():
        if isinstance(value, SecretStr):  # str() of a SecretStr is "**********"
            value = value.get_secret_value()
        env[f"GAMEMETRICS_{name.upper()}"] = str(value)
    return env
