"""`gamemetrics recommender worker` on the embedded store: refused, saying that the service folds in
(it owns the store; a second process would find the store held and retry forever)."""

from __future__ import annotations

import os
import subprocess
import sys


def test_the_fold_in_worker_refuses_the_embedded_store_and_says_what_to_run(tmp_path):
    env = {**os.environ, "GAMEMETRICS_QDRANT_URL": "", "GAMEMETRICS_STATE_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "operations", "recommender", "worker"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "serve recommender" in done.stderr and "GAMEMETRICS_QDRANT_URL" in done.stderr
    assert not (tmp_path / "qdrant-edge").exists()  # it never opened the store
