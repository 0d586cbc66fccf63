#!/bin/sh
# The image's entry point: the first argument picks the service, the rest is passed on.
#   ingest | graphql | recommender      an HTTP service on 0.0.0.0:$PORT (8080 | 8090 | 8100)
#   worker                              a landing worker (+ the notification agents; --no-notifications: without)
#   notifications worker                the notification agents on their own (through "anything else")
#   recommender-worker                  the recommender's fold-in consumer
#   retention                           one retention pass (a CronJob)
#   train                               recommender training (a CronJob)
#   migrate                             the database migrations (the chart's pre-install Job)
#   anything else                       `gamemetrics ARGS...` (e.g. `games create NAME`, `--help`)
set -eu
role="${1:---help}"
[ "$#" -gt 0 ] && shift
host="${GAMEMETRICS_BIND_HOST:-0.0.0.0}"
case "$role" in
  ingest)             exec gamemetrics serve ingest --host "$host" --port "${PORT:-8080}" "$@" ;;
  graphql)            exec gamemetrics serve graphql --host "$host" --port "${PORT:-8090}" "$@" ;;
  recommender)        exec gamemetrics serve recommender --host "$host" --port "${PORT:-8100}" "$@" ;;
  worker)             exec gamemetrics worker "$@" ;;
  recommender-worker) exec gamemetrics recommender worker "$@" ;;
  retention)          exec gamemetrics retention run "$@" ;;
  train)              exec gamemetrics recommender train "$@" ;;
  migrate)            exec gamemetrics migrate "$@" ;;
  *)                  exec gamemetrics "$role" "$@" ;;
esac
