"""The analytics API: GraphQL over the rollup tables, live subscriptions, and the dashboard.

In the order a request meets it:

    cli.py / main.py      ``gamemetrics serve graphql`` -> uvicorn -> ``main.build`` (per process) -> ``app.create_app``
    app.py                FastAPI: /graphql (HTTP + graphql-transport-ws), /dashboard, /healthz, /metrics
    auth.py               JWT bearer tokens: role (analyst, admin) and the games they cover
    context.py            the typed context: the caller, the services, the DataLoaders
    limits.py             schema extensions: authentication, @cost and depth limits, error codes, logs
    schema.py             Query, Mutation, Subscription; ``schema.graphql`` is its exported SDL
    types.py              the GraphQL types
    analytics/            one module per metric: argument checks (``ranges.py``) and its SQL
    store.py              the read-only PostgreSQL pool
    live_source.py        one Kafka consumer of player.events.processed per process ...
    live.py               ... feeding the in-memory hub: per-game windows and subscriber fan-out
    static/               the dashboard (plain JavaScript and SVG charts; nothing from a CDN)
    settings.py, errors.py
"""
