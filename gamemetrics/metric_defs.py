"""Every Prometheus metric of the project, in one place, with what to do when it moves.

Each process exposes the metrics it updates (ingest at /metrics; workers on their metrics port).
"""

from prometheus_client import Counter, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

INGEST_REQUESTS = Counter(
    "gamemetrics_ingest_requests_total",
    "Ingest HTTP requests by status code. A rise in 5xx means Kafka is down: check /readyz.",
    ["status"],
)
INGEST_EVENTS_ACCEPTED = Counter(
    "gamemetrics_ingest_events_accepted_total",
    "Events acknowledged by Kafka and reported accepted to clients.",
)
INGEST_EVENTS_REJECTED = Counter(
    "gamemetrics_ingest_events_rejected_total",
    "Events rejected, by the field of their first error. A jump after a client release means a client bug.",
    ["reason"],
)
INGEST_PRODUCE_SECONDS = Histogram(
    "gamemetrics_ingest_produce_seconds",
    "Time from produce to the last Kafka acknowledgement of a request. p99 > 50 ms: check broker load.",
    buckets=LATENCY_BUCKETS,
)
INGEST_BATCH_EVENTS = Histogram(
    "gamemetrics_ingest_request_events",
    "Events per ingest request.",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)

LANDED_EVENTS = Counter(
    "gamemetrics_landed_events_total",
    "Events newly written to player_events (replays and duplicates excluded).",
)
DUPLICATE_EVENTS = Counter(
    "gamemetrics_duplicate_events_total",
    "Events skipped because their event_id was already stored (replays, client retries).",
)
DLQ_RECORDS = Counter(
    "gamemetrics_dlq_records_total",
    "Records written to system.dlq by error type. Any rise needs a look with `gamemetrics dlq inspect`.",
    ["error_type"],
)
LAND_SECONDS = Histogram(
    "gamemetrics_land_seconds",
    "Time to write one batch to PostgreSQL. Rising: check PostgreSQL load and partitions.",
    buckets=LATENCY_BUCKETS,
)
