"""Step 3, deduplicate: an event id is stored once.

Two sources of duplicates: a Kafka replay (the same message again after a crash between the
database commit and the offset commit) and a client retry (the same event ids in a new request,
possibly with another ``sent_at``, hence another corrected time). Inside a batch the first copy
wins (pure, here); against the store, ``processors.land`` probes the event ids already stored
within ``DEDUP_WINDOW`` of the batch's times, under a per-player lock, in the landing transaction.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

DEDUP_WINDOW = timedelta(hours=24)


def first_copies(events: list[dict[str, Any]], seen: set[str]) -> list[dict[str, Any]]:
    """Events whose id is not in ``seen`` (updated in place), in order."""
    kept = []
    for event in events:
        event_id = str(event["event_id"])
        if event_id not in seen:
            seen.add(event_id)
            kept.append(event)
    return kept
