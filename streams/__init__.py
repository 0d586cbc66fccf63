"""Kafka for every stage: the topics of the design (``topics``), the Faust app and its Avro codecs
(``app``, ``codecs``) the workers build on, and the acknowledged producer (``producer``: acks=all,
idempotent) that ingest, the landing worker, notifications and the DLQ replay share."""
