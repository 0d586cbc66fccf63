"""Step 3, deduplicate: an event id is stored once.

Two sources of duplicates: a Kafka replay (the same message again after a crash between the
database commit and the offset commit) and a client retry (the same event ids in a new request,
possibly with another ``sent_at``, hence another corrected event time, days away). Both keep the
event id and the client's own ``ts``, so that pair is the dedup key, whatever ``sent_at`` was.
Inside a group the first copy wins (pure, here); against the store, ``processors.postgres_sink`` probes
``event_keys`` for the pairs already landed, under a per-player lock, in the landing transaction,
and writes the new pairs in the same statement as the rows (the key's primary key guards races).
"""

from __future__ import annotations

from typing import Any


def first_copies(events: list[dict[str, Any]], seen: set[str]) -> list[dict[str, Any]]:
    """Events whose id is not in ``seen`` (updated in place), in order."""
    kept = []
    for event in events:
        event_id = str(event["event_id"])
        if event_id not in seen:
            seen.add(event_id)
            kept.append(event)
    return kept
