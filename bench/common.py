"""Shared pieces of the benchmarks: a fresh deployment, the commit, the results file, CPU from /proc."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import time
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def append_results(section: str, lines: list[str]) -> None:
    """Append a dated block under ``section`` in bench/RESULTS.md."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    block = f"\n### {section} — {stamp}, commit {commit()}\n\n" + "\n".join(lines) + "\n"
    RESULTS.write_text(text.rstrip("\n") + "\n" + block)


def fresh_deployment(topic_prefix: str, schema: str, backend: str = "auto"):
    """Bring up (or reuse) the stack; return settings on an empty topic prefix and a schema migrated
    with ``backend``'s partitions (auto | native | timescaledb, as GAMEMETRICS_STORE_BACKEND)."""
    from gamemetrics.settings import load_settings
    from operations.stack.local import LocalStack
    from store.migrate import drop_schema, upgrade
    from streams.topics import delete_topics, ensure_topics

    base = load_settings()
    stack = LocalStack(base)
    stack.up()
    settings = base.model_copy(update={"topic_prefix": topic_prefix, "database_schema": schema})
    drop_schema(settings)
    delete_topics(settings.kafka_bootstrap_servers, settings.topic_prefix)
    time.sleep(2)  # topic deletion completes asynchronously in the broker
    ensure_topics(settings.kafka_bootstrap_servers, settings.topic_prefix)
    upgrade(settings, backend=backend)  # type: ignore[arg-type]
    return stack, settings


def landed_events(settings) -> int:
    """Events landed so far, to poll while a pipeline drains: the minute rollup is written in the
    landing transaction and is tiny, so polling it does not load PostgreSQL the way count(*) over
    player_events would (the exact count is taken once, after)."""
    from store import db

    with db.connect(settings) as conn:
        return conn.execute("SELECT coalesce(sum(events), 0) FROM event_rollup_minute").fetchone()[0]


def backend_option(parser) -> None:
    """``--backend``: how the bench schema's player_events is split (TimescaleDB needs a database
    that runs it: the local stack when TimescaleDB is installed, or GAMEMETRICS_DATABASE_URL)."""
    parser.add_argument("--backend", choices=("auto", "native", "timescaledb"), default="auto",
                        help="store backend of the bench schema (default: what the database can run)")


def schema_backend(settings) -> str:
    from store import db
    from store.backend import table_backend

    with db.connect(settings) as conn:
        return table_backend(conn) or "none"


# ---------------------------------------------------------------- CPU accounting from /proc
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process (all its threads) so far; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


def process_tree(pid: int) -> list[int]:
    """``pid`` and every process below it (uvicorn's worker processes under its supervisor)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def tree_cpu_seconds(pid: int) -> dict[int, float]:
    """CPU seconds so far of each process in ``pid``'s tree (difference two of these for a window)."""
    return {p: cpu_seconds(p) for p in process_tree(pid)}


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two ``tree_cpu_seconds`` samples (processes born in between count whole)."""
    return sum(v - before.get(p, 0.0) for p, v in after.items())
