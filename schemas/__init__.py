"""Avro schemas (the ``*.avsc`` files, source of truth), their catalog of pinned ids, and the
Confluent wire format every Kafka message of the pipeline uses."""
