import gzip

import pytest

from ingest.body import check_media_type, gunzip, parse_envelope
from ingest.errors import EnvelopeError, PayloadTooLarge, UnsupportedMediaType


@pytest.mark.parametrize("content_type", [None, "application/json", "application/json; charset=utf-8", "application/vnd.game+json"])
def test_json_media_types_pass(content_type):
    assert check_media_type(content_type, None) is False


def test_gzip_is_detected_and_others_refused():
    assert check_media_type("application/json", "gzip") is True
    with pytest.raises(UnsupportedMediaType, match="deflate"):
        check_media_type("application/json", "deflate")
    with pytest.raises(UnsupportedMediaType, match="text/csv"):
        check_media_type("text/csv", None)


def test_gunzip_stops_at_the_limit():
    with pytest.raises(PayloadTooLarge):
        gunzip(gzip.compress(b"a" * 10_001), 10_000)
    assert gunzip(gzip.compress(b"a" * 10_000), 10_000) == b"a" * 10_000


def test_truncated_or_bogus_gzip_is_a_400():
    with pytest.raises(EnvelopeError, match="truncated"):
        gunzip(gzip.compress(b'{"events": []}')[:-12], 1000)
    with pytest.raises(EnvelopeError, match="not valid gzip"):
        gunzip(b"plain text", 1000)


def test_envelope_keeps_events_and_parses_sent_at():
    envelope = parse_envelope(b'{"sent_at": "2026-11-22T10:00:00Z", "events": [1, 2]}', False, 1000, 10)
    assert envelope.events == [1, 2] and envelope.sent_at_ms == 1795341600000


def test_envelope_limits():
    with pytest.raises(PayloadTooLarge, match="at most 1 allowed"):
        parse_envelope(b'{"events": [1, 2]}', False, 1000, 1)
    with pytest.raises(PayloadTooLarge, match="larger than 10 bytes"):
        parse_envelope(b'{"events": [1, 2]}', False, 10, 5)


@pytest.mark.parametrize("sent_at", ['"9999-12-31T23:59:59-23:59"', '"0001-01-01T00:00:00+23:59"', "99999999999999999"])
def test_a_sent_at_out_of_range_is_a_400_with_a_message(sent_at):
    with pytest.raises(EnvelopeError, match="sent_at"):
        parse_envelope(f'{{"sent_at": {sent_at}, "events": []}}'.encode(), False, 10_000, 10)


def _stream(*chunks: bytes):
    async def gen():
        for chunk in chunks:
            yield chunk
    return gen()


def test_read_body_stops_reading_at_the_limit_raw_and_gunzipped():
    import asyncio

    from ingest.body import read_body

    read: list[int] = []

    async def endless():
        while True:  # a chunked upload that never ends
            read.append(1)
            yield b"x" * 1000

    with pytest.raises(PayloadTooLarge, match="larger than 10000 bytes"):
        asyncio.run(read_body(endless(), False, 10_000))
    assert len(read) == 11
    bomb = gzip.compress(b"a" * 5_000_000)
    with pytest.raises(PayloadTooLarge, match="decompressed body"):
        asyncio.run(read_body(_stream(bomb[:100], bomb[100:]), True, 10_000))
    with pytest.raises(PayloadTooLarge, match="Content-Length"):
        asyncio.run(read_body(_stream(b"{}"), False, 10, declared_length="11"))
    with pytest.raises(EnvelopeError, match="truncated"):
        asyncio.run(read_body(_stream(gzip.compress(b'{"events": []}')[:-12]), True, 1000))
    body = gzip.compress(b'{"events": []}')
    assert asyncio.run(read_body(_stream(body[:5], body[5:]), True, 1000)) == b'{"events": []}'
