"""Typed dead letters: what failed, where it came from, and the original bytes. Pure builders
(the landing and notification stages build their records here; ``processors.dlq_admin`` reads
and replays them)."""

from __future__ import annotations

import time
from typing import Any

UNDECODABLE = "undecodable"


def dead_letter(
    error_type: str,
    detail: str,
    *,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    original: bytes,
    processor: str,
    event_index: int | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    return {
        "error_type": error_type,
        "detail": detail,
        "source_topic": topic,
        "source_partition": partition,
        "source_offset": offset,
        "source_key": key,
        "original": original,
        "event_index": event_index,
        "event_id": event_id,
        "failed_at": int(time.time() * 1000),
        "processor": processor,
    }
