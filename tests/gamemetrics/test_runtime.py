"""gamemetrics/runtime.py: the services' start-up tuning, checked in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import asyncio, gc
from gamemetrics.runtime import GC_THRESHOLD_GEN0, tune_gc, use_uvloop
kept = [{"built": "at start-up"} for _ in range(1000)]
tune_gc()
use_uvloop()
loop = asyncio.new_event_loop()
print(gc.get_threshold()[0] == GC_THRESHOLD_GEN0, gc.get_freeze_count() >= 1000, type(loop).__module__)
"""


def test_tuning_freezes_start_up_objects_raises_the_threshold_and_runs_on_uvloop():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "True", "uvloop"]
