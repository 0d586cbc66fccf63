"""Read a request body into the envelope: media type, gzip with a hard size limit, JSON, shape.

The body is read as it streams in (``read_body``) and reading stops at the limit, raw and
gunzipped: a chunked upload without Content-Length of any size costs at most the limit in memory.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson

from ingest.errors import EnvelopeError, PayloadTooLarge, UnsupportedMediaType
from ingest.validation import parse_time_ms


@dataclass(frozen=True)
class Envelope:
    events: list[Any]
    sent_at_ms: int | None


def check_media_type(content_type: str | None, content_encoding: str | None) -> bool:
    """True when the body is gzip-encoded; raises UnsupportedMediaType for anything but JSON."""
    if content_type:
        media = content_type.split(";", 1)[0].strip().lower()
        # text/plain: what navigator.sendBeacon sends a string as (and a CORS "simple" request: no preflight)
        if media != "application/json" and not media.endswith("+json") and media != "text/plain":
            raise UnsupportedMediaType(f"Content-Type {media!r} is not supported; send application/json")
    encoding = (content_encoding or "identity").strip().lower()
    if encoding not in ("identity", "gzip"):
        raise UnsupportedMediaType(f"Content-Encoding {encoding!r} is not supported; send gzip or nothing")
    return encoding == "gzip"


def gunzip(body: bytes, limit: int) -> bytes:
    """Decompress with a hard output limit: a gzip bomb stops at ``limit`` + 1 bytes."""
    decoder = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = decoder.decompress(body, limit + 1)
    except zlib.error as exc:
        raise EnvelopeError(f"body is not valid gzip: {exc}") from exc
    if len(out) > limit:
        raise PayloadTooLarge(f"decompressed body is larger than {limit} bytes")
    if not decoder.eof:
        raise EnvelopeError("body is truncated gzip")
    return out


async def read_body(chunks: AsyncIterator[bytes], gzipped: bool, limit: int, declared_length: str | None = None) -> bytes:
    """The (gunzipped) body, read chunk by chunk; raises PayloadTooLarge as soon as either the bytes
    received or the bytes they decompress to pass ``limit``, without reading the rest."""
    if declared_length is not None and declared_length.isdigit() and int(declared_length) > limit:
        raise PayloadTooLarge(f"body of {declared_length} bytes (Content-Length) is larger than {limit} bytes")
    decoder = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS) if gzipped else None
    received = 0
    out = bytearray()
    async for chunk in chunks:
        received += len(chunk)
        if received > limit:
            raise PayloadTooLarge(f"body is larger than {limit} bytes")
        if decoder is None:
            out += chunk
            continue
        try:
            out += decoder.decompress(chunk, limit + 1 - len(out))  # max_length >= 1 here: 0 would mean no limit
        except zlib.error as exc:
            raise EnvelopeError(f"body is not valid gzip: {exc}") from exc
        if len(out) > limit or decoder.unconsumed_tail:
            raise PayloadTooLarge(f"decompressed body is larger than {limit} bytes")
    if decoder is not None and not decoder.eof:
        raise EnvelopeError("body is truncated gzip")
    return bytes(out)


def parse_envelope(body: bytes, gzipped: bool, max_body_bytes: int, max_events: int) -> Envelope:
    if gzipped:
        body = gunzip(body, max_body_bytes)
    elif len(body) > max_body_bytes:
        raise PayloadTooLarge(f"body of {len(body)} bytes is larger than {max_body_bytes} bytes")
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise EnvelopeError(f"body is not valid JSON: {exc}") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
        raise EnvelopeError('body must be a JSON object with an "events" array')
    events = payload["events"]
    if len(events) > max_events:
        raise PayloadTooLarge(f"{len(events)} events in one request; at most {max_events} allowed")
    sent_at_ms = None
    if payload.get("sent_at") is not None:
        sent_at_ms = parse_time_ms(payload["sent_at"])
        if sent_at_ms is None:
            raise EnvelopeError(f"sent_at: {payload['sent_at']!r:.60} is not an RFC 3339 time with offset or epoch milliseconds")
    return Envelope(events, sent_at_ms)
