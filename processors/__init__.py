"""The landing stage: player.events.raw -> PostgreSQL, player.events.processed and system.dlq.

Read in this order: ``worker`` (the Faust wiring: source -> batch -> steps -> sink -> commit),
``landing`` (steps 1-8 for a group of messages), one module per step: ``decode``, ``validate``,
``dedup``, ``enrich``, ``postgres_sink`` (land and roll up, in one transaction), ``publish``
(the ProcessedEventBatch records) with ``publisher`` (to Kafka); then ``resilience`` (what
happens when a group does not land), ``ports`` (the Sink and Publisher interfaces), ``memory``
(their in-memory versions for tests), ``dead_letters`` (typed DLQ records), ``dlq_admin``
(``gamemetrics dlq inspect|replay``), ``errors``, ``settings`` (``GAMEMETRICS_WORKER_*``) and
``cli``. ``notifications/`` is the notification agents that run in the same worker.
"""
