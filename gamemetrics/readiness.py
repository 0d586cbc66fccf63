"""Readiness of a service, without HTTP: per dependency "ok" or why it is not (``Readiness``), and
``probe``, which runs one check and turns its failure into the (redacted) reason. Each service names
its dependencies in one async ``readiness`` function; ``gamemetrics.http`` serves it at /readyz.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gamemetrics.redact import redact

OK = "ok"
UNAVAILABLE = "unavailable"
PROBE_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Readiness:
    """Per dependency "ok" or why it is not; ``details``: reported beside them, never gating."""

    checks: Mapping[str, str]
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return all(value == OK for value in self.checks.values())

    def body(self) -> dict[str, Any]:
        return {"status": OK if self.ready else UNAVAILABLE, **self.checks, **self.details}


async def probe(check: Callable[[], Awaitable[object]], timeout_s: float | None = PROBE_TIMEOUT_S) -> str:
    """"ok" when ``check()`` completes (within ``timeout_s``; None: the check's own time limit), else the
    redacted reason it did not."""
    try:
        await asyncio.wait_for(check(), timeout=timeout_s)
    except TimeoutError:
        return f"no answer within {timeout_s:g} s"
    except Exception as exc:  # noqa: BLE001 - any failure of a dependency means not ready
        return redact(str(exc)) or type(exc).__name__
    return OK
