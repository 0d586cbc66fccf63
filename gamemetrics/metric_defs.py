"""Every Prometheus metric of the project, in one place, with what to do when it moves.

Each process exposes the metrics it updates: ingest and the GraphQL API at /metrics, landing
workers (landing and notifications) on GAMEMETRICS_WORKER_METRICS_PORT. Tests read them through
``prometheus_client.REGISTRY.get_sample_value``. An HTTP service run as several processes
(``--workers N``) sums them across its processes (gamemetrics/exposition.py); a Gauge then says
how with ``multiprocess_mode`` (default "all": one series per process, labelled pid).
"""

from prometheus_client import Counter, Gauge, Histogram

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
INGEST_AUTH_THROTTLED = Counter(
    "gamemetrics_ingest_auth_throttled_total",
    "Requests answered 429 because their address had too many unknown API keys (401s). Rising: someone is "
    "guessing keys, or a client ships a revoked key; see GAMEMETRICS_INGEST_AUTH_FAILURES_*.",
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
INGEST_STEP_SECONDS = Counter(
    "gamemetrics_ingest_step_seconds",
    "CPU seconds ingest spent in each step of POST /v1/events (event-loop thread CPU, waits on Redis, Kafka's acks "
    "and the network left out; one request in GAMEMETRICS_INGEST_STEP_SAMPLE_EVERY timed, scaled up): auth (API "
    "key lookup), body (read, gunzip, JSON envelope), ratelimit, validate (per-event rules, GDPR suppression, "
    "country; with the native ingest call (ingest/native.py) also the JSON envelope, grouping and Avro), encode "
    "(group per player, Avro; Python path only), produce (until produce() returns), respond (metrics, answer); "
    "added to the counter once a second per process. "
    "Divided by gamemetrics_ingest_events_accepted_total: the CPU budget per event by step. The process CPU "
    "minus these is the server and framework (HTTP parsing, routing) and the Kafka client's threads.",
    ["step"],
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
TRANSACTION_MESSAGES = Histogram(
    "gamemetrics_landing_transaction_messages",
    "Kafka messages landed per PostgreSQL transaction. Always at the maximum: the worker is behind.",
    buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000),
)
TRANSACTION_EVENTS = Histogram(
    "gamemetrics_landing_transaction_events",
    "Events per landing transaction.",
    buckets=(1, 10, 100, 500, 1000, 2500, 5000, 10000, 25000),
)
STEP_SECONDS = Counter(
    "gamemetrics_landing_step_seconds_total",
    "Seconds spent in each landing step (decode, validate, dedup, enrich, land with its rollups, publish, commit). "
    "Divide by landed events for the cost per event; a step that grows is where to look.",
    ["step"],
)
STEP_CPU_SECONDS = Counter(
    "gamemetrics_landing_step_cpu_seconds_total",
    "CPU seconds of the worker's event-loop thread in each landing step (the wall-clock figure above minus the "
    "waits for PostgreSQL and Kafka). Divide by landed events for the worker's CPU budget per step; the rest of "
    "the process's CPU is Faust and the Kafka consumer.",
    ["step"],
)
PIPELINE_RETRIES = Counter(
    "gamemetrics_landing_retries_total",
    "Landing transactions retried on backpressure, by reason: PostgreSQL unavailable (StoreUnavailable), a lost "
    "deadlock or serialization race (StoreConflict), Kafka not acknowledging (ProduceError).",
    ["reason"],
)
DEAD_LETTER_LIMIT_STOPS = Counter(
    "gamemetrics_landing_dead_letter_limit_stops_total",
    "Landing workers stopped because more than GAMEMETRICS_WORKER_MAX_PROCESSING_ERROR_SHARE of the last "
    "GAMEMETRICS_WORKER_PROCESSING_ERROR_WINDOW messages failed as processing_error. Any rise pages: a bad "
    "deploy; read the worker's error log, fix or roll back, start the workers (nothing was committed).",
)
RECEIVED_TO_COMMITTED_SECONDS = Histogram(
    "gamemetrics_received_to_committed_seconds",
    "From ingest receipt to the landing commit, per Kafka message. p99 > 2 s: workers are behind (see lag).",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0),
)
CONSUMER_LAG = Gauge(
    "gamemetrics_consumer_lag_messages",
    "Messages between the end of a partition and the landing group's committed offset. Growing: add workers.",
    ["topic", "partition"],
)

LANDING_CONFLICT_FALLBACKS = Counter(
    "gamemetrics_landing_conflict_fallbacks_total",
    "Landing groups whose optimistic COPY of the dedup keys hit a unique violation (a Kafka replay, a client "
    "retry, or an event id claimed by another player's group at the same moment) and took the probe path.",
)

# Notifications (processors/notifications): rules -> notifications topic -> channels.
NOTIFICATION_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
NOTIFICATION_BATCHES_SKIPPED = Counter(
    "gamemetrics_notification_batches_skipped_total",
    "Processed batches the notification rules agent skipped without decoding: no enabled rule for their game.",
)
NOTIFICATIONS_PRODUCED = Counter(
    "gamemetrics_notifications_produced_total",
    "Notifications written to the notifications topic, by channel. Zero while events flow: check "
    "`gamemetrics notifications rules list` (rules are reloaded every GAMEMETRICS_NOTIFY_RULES_REFRESH_S).",
    ["channel"],
)
NOTIFICATIONS_DELIVERED = Counter(
    "gamemetrics_notifications_delivered_total",
    "Notifications a channel accepted (SMTP 250, HTTP 2xx), by channel.",
    ["channel"],
)
NOTIFICATIONS_ALREADY_DELIVERED = Counter(
    "gamemetrics_notifications_already_delivered_total",
    "Notifications skipped because notification_deliveries says they were delivered (replays, duplicate batches).",
    ["channel"],
)
NOTIFICATIONS_ERASED = Counter(
    "gamemetrics_notifications_erased_total",
    "Notifications dropped at delivery because their player was erased (GDPR tombstone): nothing sent, nothing "
    "recorded. A burst after an erase is the player's notifications still in the topic; a steady flow: a rule "
    "keeps firing for a suppressed player.",
)
NOTIFICATIONS_FAILED = Counter(
    "gamemetrics_notifications_failed_total",
    "Notifications sent to system.dlq, by channel and reason (permanent, retries_exhausted). A rise: the "
    "channel's endpoint or its settings; fix, then replay the dead letters.",
    ["channel", "reason"],
)
NOTIFICATION_RETRIES = Counter(
    "gamemetrics_notification_retries_total",
    "Delivery attempts that failed and were retried, by channel. Rising: the endpoint is slow or failing, "
    "and its partitions wait out the backoff.",
    ["channel"],
)
NOTIFICATION_DELIVERY_SECONDS = Histogram(
    "gamemetrics_notification_delivery_seconds",
    "Time from a notification's creation to its delivery, by channel. p99 rising: retries or consumer lag.",
    ["channel"],
    buckets=NOTIFICATION_LATENCY_BUCKETS,
)

# GraphQL API (graphql_api): queries over the rollups, live subscriptions from player.events.processed.
GRAPHQL_OPERATIONS = Counter(
    "gamemetrics_graphql_operations_total",
    "GraphQL operations by type and outcome (ok or the error code). UNAUTHENTICATED/FORBIDDEN rising: a client "
    "with an expired or wrong token; INTERNAL: a bug, see the logs; UNAVAILABLE: PostgreSQL or Kafka.",
    ["operation_type", "outcome"],
)
GRAPHQL_OPERATION_SECONDS = Histogram(
    "gamemetrics_graphql_operation_seconds",
    "Time to answer a query or mutation. p95 over 1 s: look at the slowest root field in the logs "
    "(graphql_operation events carry the field names), narrow the ranges, or add an index.",
    ["operation_type"],
    buckets=LATENCY_BUCKETS,
)
GRAPHQL_SUBSCRIPTIONS = Gauge(
    "gamemetrics_graphql_subscriptions",
    "Open subscriptions of this API process, by field.",
    ["field"],
    multiprocess_mode="livesum",  # several API processes: the open subscriptions of the live ones, summed
)
GRAPHQL_LIVE_MESSAGES = Counter(
    "gamemetrics_graphql_live_messages_total",
    "player.events.processed messages read by this API process's live consumer. Flat while events land: the "
    "consumer is stuck or Kafka is unreachable (see the logs).",
)
GRAPHQL_LIVE_DELAY_SECONDS = Histogram(
    "gamemetrics_graphql_live_delay_seconds",
    "From the landing worker publishing a processed batch to this API fanning it out. p99 over 1 s: the API "
    "process is CPU bound; run more of them (each has its own live consumer).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
GRAPHQL_LIVE_EVENTS_DROPPED = Counter(
    "gamemetrics_graphql_live_events_dropped_total",
    "liveEvents events dropped because a subscriber read slower than events arrived (its buffer was full). "
    "Rising: subscribers should narrow eventTypes, or raise GAMEMETRICS_GRAPHQL_LIVE_SUBSCRIBER_BUFFER.",
)

# Retention, archival and GDPR (retention/). The cron pass writes these to a Prometheus text file
# (`gamemetrics retention run --metrics-file`, for node_exporter's textfile collector).
ERASED_EVENTS_DROPPED = Counter(
    "gamemetrics_erased_events_dropped_total",
    "Events landing dropped because a tombstone buries them (erased player: made or received before the erase, "
    "or suppressed). Expected after an erase while Kafka still holds the player's events; never a loss.",
)
INGEST_EVENTS_SUPPRESSED = Counter(
    "gamemetrics_ingest_events_suppressed_total",
    "Events ingest refused because their player is suppressed (GDPR erase with --suppress). A steady flow: the "
    "game client still sends for a player who asked to be forgotten; tell the studio.",
)
RETENTION_ROWS_ARCHIVED = Gauge(
    "gamemetrics_retention_rows_archived",
    "Rows of player_events the last retention pass wrote to Parquet (verified before dropping).",
    multiprocess_mode="mostrecent",
)
RETENTION_BYTES_ARCHIVED = Gauge(
    "gamemetrics_retention_bytes_archived",
    "Parquet bytes the last retention pass uploaded to object storage.",
    multiprocess_mode="mostrecent",
)
RETENTION_DAYS_DROPPED = Gauge(
    "gamemetrics_retention_days_dropped",
    "Archived (game, day)s the last retention pass removed from PostgreSQL.",
    multiprocess_mode="mostrecent",
)
RETENTION_ROWS_DELETED = Gauge(
    "gamemetrics_retention_rows_deleted",
    "Rows the last retention pass deleted past their policy, by store (rollups, notification_log, archive days).",
    ["store"],
)
RETENTION_LAST_SUCCESS = Gauge(
    "gamemetrics_retention_last_success_timestamp_seconds",
    "When a retention pass last finished without error. Older than 2 days: the cron job is failing; run "
    "`gamemetrics retention run` by hand and read its error.",
    multiprocess_mode="mostrecent",
)
GDPR_REQUESTS = Gauge(
    "gamemetrics_gdpr_requests",
    "GDPR requests by kind (erase, export) and status (pending, running, done, failed). failed > 0: "
    "`gamemetrics gdpr list --status failed` names the failing store; the next pass retries.",
    ["kind", "status"],
)
GDPR_OLDEST_PENDING_AGE = Gauge(
    "gamemetrics_gdpr_oldest_pending_request_age_seconds",
    "Age of the oldest GDPR request not done (pending, running or failed); 0 when none. Over 1 h: the erase job "
    "is not running or keeps failing (alert on it; the law gives us a month, we promise minutes).",
    multiprocess_mode="mostrecent",
)
# Recommender (recommender/): training, the API's cache-aside over Qdrant, the fold-in worker.
RECOMMENDER_TRAININGS = Counter(
    "gamemetrics_recommender_trainings_total",
    "Model trainings by outcome (ok, failed). failed: read the train command's error (no data, Qdrant down).",
    ["outcome"],
)
RECOMMENDER_TRAIN_SECONDS = Histogram(
    "gamemetrics_recommender_train_seconds",
    "Wall time of one game's training, from reading events to the alias swap. Growing with the window: shorten "
    "GAMEMETRICS_RECOMMENDER_WINDOW_DAYS or train less often.",
    buckets=(1, 2, 5, 10, 30, 60, 120, 300, 600, 1800),
)
RECOMMENDER_REQUESTS = Counter(
    "gamemetrics_recommender_requests_total",
    "Recommender API answers by endpoint and strategy (personal, popular, similar) or error status.",
    ["endpoint", "outcome"],
)
RECOMMENDER_REQUEST_SECONDS = Histogram(
    "gamemetrics_recommender_request_seconds",
    "Time to answer, by endpoint and cache result. p99 of misses over 30 ms: Qdrant is slow (local mode past its "
    "size, see the README) or overloaded.",
    ["endpoint", "cache"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
RECOMMENDER_CACHE = Counter(
    "gamemetrics_recommender_cache_total",
    "Cache lookups by result: hit, miss (this request recomputed), coalesced (waited for another's recompute), "
    "bypass (Redis unreachable: answered from Qdrant). bypass rising: check Redis.",
    ["result"],
)
RECOMMENDER_REDIS_ERRORS = Counter(
    "gamemetrics_recommender_redis_errors_total",
    "Redis calls that failed; the cache is bypassed for GAMEMETRICS_RECOMMENDER_REDIS_RETRY_S after each.",
)
RECOMMENDER_FOLD_INS = Counter(
    "gamemetrics_recommender_fold_ins_total",
    "Player vectors updated from new play by the fold-in consumer, by outcome (updated, no_model, no_items).",
    ["outcome"],
)
RECOMMENDER_FOLD_IN_SECONDS = Histogram(
    "gamemetrics_recommender_fold_in_seconds",
    "From a processed batch's processed_at to its player's vector being upserted and recommendations published. "
    "p99 over a few seconds: the worker lags (consumer lag of its group) or Qdrant is slow.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0),
)
