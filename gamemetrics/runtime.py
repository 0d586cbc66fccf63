"""Process-wide runtime tuning for the long-running services (ingest, landing workers), applied once
at start-up. Measured in bench/RESULTS.md ("GC and event loop")."""

from __future__ import annotations

import asyncio
import gc

GC_THRESHOLD_GEN0 = 50_000  # CPython's default is 700 allocations
GC_THRESHOLD_OLDER = (20, 50)


def use_uvloop() -> None:
    """uvloop as the event loop (a dependency; uvicorn runs on it too): less CPU per message."""
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def tune_gc() -> None:
    """Move what start-up built out of the cycle collector's way, and collect less often.

    The services allocate millions of short-lived, acyclic containers (decoded events, JSON
    bodies) that reference counting frees; with CPython's default threshold the cycle collector
    ran every 700 allocations and walked them anyway.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD_GEN0, *GC_THRESHOLD_OLDER)
