"""The embedded local stack: Kafka (KRaft, jars from Maven Central), PostgreSQL and Redis from
Debian packages, all on 127.0.0.1 under the state dir. No Docker."""
