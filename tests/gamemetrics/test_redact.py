"""gamemetrics/redact.py: the one credential-redaction helper (pure)."""

from __future__ import annotations

import logging

from gamemetrics.redact import RedactingFilter, log_processor, redact, redact_url, redact_value, url_passwords


def test_a_url_keeps_user_host_port_and_database_and_loses_its_password():
    assert redact_url("postgresql://gm:s3cret-pw@db.internal:5432/gamemetrics") == "postgresql://gm@db.internal:5432/gamemetrics"
    assert redact_url("rediss://:s3cret-pw@cache:6380/0") == "rediss://cache:6380/0"
    assert redact_url("postgresql://gm@db:5432/gm?sslmode=require&password=s3cret-pw") == "postgresql://gm@db:5432/gm?sslmode=require"


def test_urls_and_key_value_pairs_inside_any_text_are_masked():
    text = ('cannot connect to PostgreSQL at postgresql://gm:s3cret-pw@10.0.0.5:5432/gm: connection refused; '
            "conninfo host=10.0.0.5 password=s3cret-pw user=gm; redis redis://default:other-pw@r:6379/0")
    out = redact(text)
    assert "s3cret-pw" not in out and "other-pw" not in out
    assert "postgresql://gm@10.0.0.5:5432/gm" in out and "redis://default@r:6379/0" in out and "password=***" in out


def test_known_secrets_are_masked_wherever_they_appear_and_nested_values_too():
    secrets = url_passwords("postgresql://gm:pg-secret-1@h/db", "redis://h:6379/0") + ["sasl-secret-2"]
    assert secrets == ["pg-secret-1", "sasl-secret-2"]
    value = {"error": "auth failed for pg-secret-1", "nested": ["sasl-secret-2 rejected", 3]}
    assert redact_value(value, secrets) == {"error": "auth failed for ***", "nested": ["*** rejected", 3]}


def test_the_log_processor_and_the_stdlib_filter_mask_every_field():
    event = log_processor(["sasl-secret-2"])(None, "warning", {"event": "x", "error": "redis://u:pw-9@h:1/0 sasl-secret-2"})
    assert event["error"] == "redis://u@h:1/0 ***"
    record = logging.LogRecord("kafka", logging.WARNING, __file__, 1, "broker %s said %s", ("x", "password=pw-9"), None)
    RedactingFilter().filter(record)
    assert record.getMessage() == "broker x said password=***"
