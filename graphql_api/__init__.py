"""The analytics API: GraphQL over the rollup tables, live subscriptions, and the dashboard.

In the order a request meets it:

    cli.py / main.py      ``gamemetrics serve graphql`` -> uvicorn -> ``main.build`` (per process) -> ``app.create_app``
    app.py                FastAPI: /graphql (HTTP + graphql-transport-ws), /dashboard, /healthz, /metrics
    services.py           the process's services, opened and closed by the app's lifespan; readiness
    auth.py               JWT bearer tokens: role (analyst, admin) and the games they cover
    context.py            the typed context: the caller, the services, a DataLoader per batch query
    limits.py             schema extensions: authentication, @cost and depth limits, error codes, logs
    schema.py             Query, Mutation, Subscription; ``schema.graphql`` is its exported SDL
    analytics/            one module per metric: its argument checks, its SQL, and the types
                          whose fields run a query (``Game``, ``Sessions``, ``Player``)
    types.py              the other GraphQL types: data only, no resolvers
    ranges.py             time ranges and buckets in UTC (pure): the arguments every metric checks
    database.py           the read-only PostgreSQL pool
    lag_probe.py          the landing group's consumer lag (Kafka admin API), for ``pipeline``
    live_source.py        one Kafka consumer of player.events.processed per process ...
    live.py               ... feeding the in-memory hub: per-game windows and subscriber fan-out
    static/               the dashboard (plain JavaScript and SVG charts; nothing from a CDN)
    settings.py, errors.py

Imports run one way, top to bottom: app -> services, schema -> analytics -> context -> live, lag_probe,
store, auth -> types -> ranges -> settings, errors. A field that needs the database is resolved in the
module of its query, never in ``types.py``; the context hands out DataLoaders without knowing
which metric they load.
"""
