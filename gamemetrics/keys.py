"""Production key checks: a deployment that is not the local stack refuses to start on a public
default or a short key, naming the setting.

How a process knows it is not the local stack: ``GAMEMETRICS_ENV=production`` (``Settings.env``),
which the Helm chart and deploy/compose.yaml set. The local stack (``gamemetrics stack up``, the
tests) leaves it at ``local``, where the defaults are what make it work out of the box.

Each process checks the keys it holds: every process the privacy and audit keys
(``gamemetrics.commands.command_settings``), the APIs the JWT secret, the retention/GDPR jobs and the
GraphQL API the receipt key and the S3 secret (``retention.settings.gdpr_keys``), the ingest service the
secret-box key (``gamemetrics.settings.secret_box_keys``).

    require_strong(env, [Key("GAMEMETRICS_PRIVACY_KEY", settings.privacy_key, LOCAL_PRIVACY_KEY), ...])
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import SecretStr

from gamemetrics.errors import GameMetricsError

MIN_KEY_BYTES = 32
# values that were ever published with the project (defaults, deploy/compose.yaml's old fallbacks): never a key
PUBLIC_VALUES = frozenset({
    "gamemetrics-local-privacy-key", "gamemetrics-local-audit-key", "gamemetrics-local-receipt-key",
    "gamemetrics-local-secret", "gamemetrics-development-secret-do-not-use-in-production",
    "compose-development-secret-change-me-0123456789", "compose-development-privacy-key-change-me",
    "compose-development-audit-key-change-me", "gamemetrics-dev-secret", "gamemetrics-dev",
    "compose-development-secret-box-key-change-me",
})


class InsecureKey(GameMetricsError):
    """A production process was given a public default or a short key; the message names the settings."""


@dataclass(frozen=True)
class Key:
    setting: str
    """The environment variable that sets it (what the operator must change)."""
    value: SecretStr
    default: str
    """The setting's public default."""
    min_bytes: int = MIN_KEY_BYTES


def weak_keys(keys: Iterable[Key]) -> list[str]:
    """Pure: one line per key that is a public value or shorter than its minimum, naming the setting."""
    problems = []
    for key in keys:
        secret = key.value.get_secret_value()
        if secret == key.default or secret in PUBLIC_VALUES:
            problems.append(f"{key.setting} is a public default value: set your own ({key.min_bytes}+ random bytes)")
        elif len(secret.encode()) < key.min_bytes:
            problems.append(f"{key.setting} is {len(secret.encode())} bytes, shorter than {key.min_bytes}:"
                            f" set {key.min_bytes}+ random bytes")
    return problems


def require_strong(env: str, keys: Iterable[Key]) -> list[str]:
    """Outside the local stack, raise ``InsecureKey`` naming every weak key; locally, return them (to warn)."""
    problems = weak_keys(keys)
    if problems and env != "local":
        raise InsecureKey(f"GAMEMETRICS_ENV={env} refuses to start: " + "; ".join(problems))
    return problems
