"""HTTP ingestion: batches of events in, one Avro EventBatch per (request, player) to player.events.raw.

In the order a request meets it (``app.post_events`` wires the steps):

    cli.py / main.py   ``gamemetrics serve ingest`` -> uvicorn -> ``main.build`` (settings and the Avro
                       codec resolved once per process) -> ``app.create_app``
    body.py            media type (JSON, gzip or none)
    auth.py            API key -> game, cached per process
    body.py            size limits, gunzip, the JSON envelope
    ratelimit.py       the game's event budget (Redis token bucket; a local one while Redis is down)
    validation.py      each event, pure: accepted, or rejected with its reasons
    privacy.py         the edge's country header, the salted client-IP hash
    batching.py        one EventBatch per player, pure; then ``streams.producer`` awaits Kafka's acks
    docs.py            the OpenAPI description of the contract
    settings.py, errors.py (each refusal carries its HTTP status)
"""
