"""Backward-compatibility check: can a reader schema decode data written by a writer schema?

Checked by doing it: records generated from the writer schema are written with it and read
back with Avro schema resolution (fastavro). A reader that adds a field without a default, drops
a union branch in use or changes a type incompatibly fails here.
"""

from __future__ import annotations

import io
from typing import Any

from fastavro import schemaless_reader, schemaless_writer
from fastavro.utils import generate_many

SAMPLES = 50


def backward_compatible(writer: Any, reader: Any, samples: int = SAMPLES) -> list[str]:
    """Problems found reading ``samples`` generated writer records with ``reader``; empty if none."""
    problems = []
    for index, record in enumerate(generate_many(writer, samples)):
        buf = io.BytesIO()
        schemaless_writer(buf, writer, record)
        buf.seek(0)
        try:
            schemaless_reader(buf, writer, reader)
        except Exception as exc:  # SchemaResolutionError and friends
            problems.append(f"record {index}: {type(exc).__name__}: {exc}")
            break
    return problems
