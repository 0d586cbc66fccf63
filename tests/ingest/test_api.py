"""The ingest HTTP contract, against a live ingest process on the real Kafka, PostgreSQL, Redis."""

from __future__ import annotations

import asyncio
import gzip
import select
import socket
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from graphql_api.lag_probe import LagProbe
from ingest.native import native_available
from schemas.wire import plain_codec
from store import db
from store.games import create_game, rotate_key
from tests.helpers import an_event, new_key, post  # shared helpers; the names stay importable here
from tests.services import running_ingest, running_worker, wait_for

pytestmark = pytest.mark.integration

SMALL_LIMITS = {
    "GAMEMETRICS_INGEST_MAX_BODY_BYTES": "20000",
    "GAMEMETRICS_INGEST_MAX_EVENTS": "50",
    "GAMEMETRICS_INGEST_RATE_LIMIT_EVENTS_PER_S": "1",  # slow refill: a spent budget stays spent however slow the machine
    "GAMEMETRICS_INGEST_RATE_LIMIT_BURST": "200",
    "GAMEMETRICS_INGEST_KEY_CACHE_TTL_S": "1",
    "GAMEMETRICS_INGEST_STEP_SAMPLE_EVERY": "1",  # every request timed by step
}


@pytest.fixture(scope="module")
def service(isolated_module, tmp_path_factory):
    with running_ingest(isolated_module, tmp_path_factory.mktemp("ingest"), SMALL_LIMITS) as url:
        yield url


def test_200_accepts_good_events(service, isolated_module):
    _, key = new_key(isolated_module)
    response = post(service, key, {"events": [an_event(), an_event(player_id="p-2")]})
    assert response.status_code == 200
    assert response.json() == {"accepted": 2, "rejected": []}


def test_x_api_key_header_works_too(service, isolated_module):
    _, key = new_key(isolated_module)
    response = httpx.post(f"{service}/v1/events", json={"events": [an_event()]}, headers={"X-API-Key": key})
    assert response.status_code == 200, response.text


def test_the_key_in_the_query_works_for_clients_that_cannot_set_headers(service, isolated_module):
    _, key = new_key(isolated_module)  # navigator.sendBeacon sets no header
    response = httpx.post(f"{service}/v1/events", json={"events": [an_event()]}, params={"api_key": key})
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 1, "rejected": []}


@pytest.mark.parametrize(
    "body, fragment",
    [
        (b"{not json", "not valid JSON"),
        (b"[]", '"events" array'),
        (b'{"events": {}}', '"events" array'),
        (b'{"sent_at": "noon", "events": []}', "sent_at"),
    ],
)
def test_400_for_a_malformed_envelope(service, isolated_module, body, fragment):
    _, key = new_key(isolated_module)
    response = post(service, key, body)
    assert response.status_code == 400
    assert fragment in response.json()["error"]


def test_401_without_or_with_an_unknown_key(service):
    assert httpx.post(f"{service}/v1/events", json={"events": []}).status_code == 401
    response = post(service, "gm_unknown", {"events": [an_event()]})
    assert response.status_code == 401 and "unknown" in response.json()["error"]


def test_413_for_too_many_events_too_large_a_body_and_a_gzip_bomb(service, isolated_module):
    _, key = new_key(isolated_module)
    too_many = post(service, key, {"events": [an_event() for _ in range(51)]})
    assert too_many.status_code == 413 and "at most 50" in too_many.json()["error"]
    too_big = post(service, key, {"events": [an_event(properties={"s": "x" * 1000}) for _ in range(30)]})
    assert too_big.status_code == 413
    bomb = gzip.compress(b'{"events": [' + b" " * 5_000_000 + b"]}")
    assert len(bomb) < 20000
    response = post(service, key, bomb, headers={"Content-Encoding": "gzip"})
    assert response.status_code == 413 and "decompressed" in response.json()["error"]


def test_415_for_other_media_types_and_encodings(service, isolated_module):
    _, key = new_key(isolated_module)
    assert post(service, key, b"events=1", headers={"Content-Type": "application/x-www-form-urlencoded"}).status_code == 415
    assert post(service, key, {"events": []}, headers={"Content-Encoding": "br"}).status_code == 415


def test_429_with_retry_after_when_the_games_budget_is_spent(service, isolated_module):
    _, key = new_key(isolated_module)
    # burst 200, 1/s: four requests of 50 pass, the fifth (within 50 s of the first) does not
    statuses = [post(service, key, {"events": [an_event() for _ in range(50)]}).status_code for _ in range(5)]
    assert statuses[:4] == [200] * 4 and statuses[4] == 429
    limited = post(service, key, {"events": [an_event() for _ in range(50)]})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    _, other_key = new_key(isolated_module)  # another game has its own budget
    assert post(service, other_key, {"events": [an_event()]}).status_code == 200


def test_gzip_body_is_accepted(service, isolated_module):
    _, key = new_key(isolated_module)
    body = gzip.compress(orjson.dumps({"events": [an_event(), an_event()]}))
    response = post(service, key, body, headers={"Content-Encoding": "gzip"})
    assert response.status_code == 200 and response.json()["accepted"] == 2


def test_a_rotated_key_works_and_the_old_one_stops_after_the_grace_period(service, isolated_module):
    game_id, old_key = new_key(isolated_module)
    assert post(service, old_key, {"events": [an_event()]}).status_code == 200  # cached now
    with db.connect(isolated_module) as conn:
        new = rotate_key(conn, game_id, timedelta(seconds=3))
    assert post(service, new, {"events": [an_event()]}).status_code == 200
    assert post(service, old_key, {"events": [an_event()]}).status_code == 200  # still in grace
    # refused once the grace (3 s) and the key cache TTL (1 s) are over
    wait_for(lambda: post(service, old_key, {"events": [an_event()]}).status_code == 401, timeout_s=30,
             what="the old key to be refused after its grace period")
    assert post(service, new, {"events": [an_event()]}).status_code == 200


def test_the_openapi_documents_the_contract(service):
    spec = httpx.get(f"{service}/openapi.json").json()
    operation = spec["paths"]["/v1/events"]["post"]
    assert {"200", "400", "401", "413", "415", "429", "503"} <= set(operation["responses"])
    assert "purchase" in operation["description"] and "ISO 4217" in operation["description"]
    assert operation["requestBody"]["content"]["application/json"]["example"]["events"]
    assert httpx.get(f"{service}/docs").status_code == 200


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The service's /metrics, parsed: (sample name, labels) -> value."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(httpx.get(f"{url}/metrics").text)
        for sample in family.samples
    }


def test_metrics_count_requests_and_rejections_by_reason(service, isolated_module):
    _, key = new_key(isolated_module)
    rejected_ts = ("gamemetrics_ingest_events_rejected_total", (("reason", "ts"),))
    ok_requests = ("gamemetrics_ingest_requests_total", (("status", "200"),))
    before = scrape(service)
    post(service, key, {"events": [an_event(), an_event(ts="never")]})
    after = scrape(service)
    assert after[rejected_ts] - before.get(rejected_ts, 0.0) == 1
    assert after[ok_requests] - before.get(ok_requests, 0.0) == 1
    assert after[("gamemetrics_ingest_produce_seconds_count", ())] >= 1


def test_metrics_give_the_cpu_of_each_step_of_the_request_path(service, isolated_module):
    _, key = new_key(isolated_module)
    native = native_available(plain_codec(isolated_module.avro_codec))  # its one call is counted as validate
    steps = ("auth", "body", "ratelimit", "validate", *(() if native else ("encode",)), "produce", "respond")
    before = scrape(service)
    for _ in range(5):
        assert post(service, key, {"events": [an_event() for _ in range(20)]}).status_code == 200
    after = scrape(service)  # a scrape adds what its process gathered since the last flush
    spent = {step: after[("gamemetrics_ingest_step_seconds_total", (("step", step),))]
             - before.get(("gamemetrics_ingest_step_seconds_total", (("step", step),)), 0.0) for step in steps}
    assert all(seconds > 0 for seconds in spent.values()), spent
    assert sum(spent.values()) < 5.0  # CPU of five small requests, not wall time or a runaway scale


def test_a_mixed_batch_lands_exactly_the_good_events(isolated, tmp_path):
    _, key = new_key(isolated)
    good = [an_event(player_id=f"p{i}", event_type="purchase",
                     properties={"item_id": "gems", "amount": 0.99, "currency": "USD"}) for i in range(6)]
    bad = [
        an_event(event_type="purchase", properties={"item_id": "gems", "amount": 0.99, "currency": "DOGE"}),
        an_event(ts=int(time.time() * 1000) + 3 * 86_400_000),
        an_event(event_id="1234"),
    ]
    mixed = [good[0], bad[0], good[1], good[2], bad[1], good[3], bad[2], good[4], good[5]]
    with running_ingest(isolated, tmp_path) as url, running_worker(isolated, tmp_path):
        response = post(url, key, {"events": mixed})
        assert response.status_code == 200
        assert response.json()["accepted"] == 6
        assert [r["index"] for r in response.json()["rejected"]] == [1, 4, 6]

        def landed():
            with db.connect(isolated) as conn:
                return {r[0] for r in conn.execute("SELECT event_id::text FROM player_events").fetchall()}

        wait_for(lambda: len(landed()) >= 6, what="six rows")
        wait_for(lambda: landing_committed_everything(isolated), what="the landing group to commit every message")
        assert landed() == {e["event_id"] for e in good}


def test_an_address_trying_many_unknown_keys_gets_429_while_a_known_key_still_works(isolated, tmp_path):
    _, key = new_key(isolated)
    knobs = {"GAMEMETRICS_INGEST_AUTH_FAILURES_BURST": "5", "GAMEMETRICS_INGEST_AUTH_FAILURES_PER_S": "0.2",
             "GAMEMETRICS_INGEST_KEY_CACHE_TTL_S": "60"}
    with running_ingest(isolated, tmp_path, knobs) as url:
        assert post(url, key, {"events": [an_event()]}).status_code == 200  # known now (cached)
        statuses = [post(url, f"gm_guess_{i}", {"events": [an_event()]}).status_code for i in range(8)]
        assert statuses == [401] * 5 + [429] * 3
        throttled = post(url, "gm_guess_again", {"events": [an_event()]})
        assert "too many unknown or expired API keys" in throttled.json()["error"]
        assert int(throttled.headers["Retry-After"]) >= 1
        assert post(url, key, {"events": [an_event()]}).status_code == 200


@pytest.mark.parametrize("body", [
    {"events": [{"ts": "9999-12-31T23:59:59-23:59"}]},
    {"events": [{"ts": "0001-01-01T00:00:00+23:59"}]},
    {"sent_at": 99999999999999, "events": [{"ts": "2026-01-01T00:00:00Z"}]},
    {"sent_at": "9999-12-31T23:59:59Z", "events": [{}]},
])
def test_times_out_of_range_are_refused_with_a_message_not_a_500(service, isolated_module, body):
    _, key = new_key(isolated_module)
    events = [{**an_event(), **e} for e in body["events"]]
    response = post(service, key, {**body, "events": events})
    assert response.status_code in (200, 400), response.text
    if response.status_code == 200:
        assert response.json()["accepted"] == 0
        assert response.json()["rejected"][0]["errors"][0].startswith("events[0].ts: ")
    else:
        assert response.json()["error"].startswith("sent_at: ")


def test_a_nul_character_rejects_its_event_and_the_neighbours_are_accepted(service, isolated_module):
    _, key = new_key(isolated_module)
    body = {"events": [an_event(player_id="p\u0000"), an_event(properties={"k": "a\u0000b"}), an_event()]}
    response = post(service, key, body)
    assert response.status_code == 200
    assert response.json()["accepted"] == 1
    assert [r["index"] for r in response.json()["rejected"]] == [0, 1]


def _rss_kib(port: int) -> int:
    """Resident memory of the ingest process serving ``port`` (its command line names the port)."""
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"ingest" in cmdline and str(port).encode() in cmdline:
            status = (entry / "status").read_text()
            return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])
    raise AssertionError(f"no ingest process on port {port}")


def test_a_chunked_upload_without_length_is_refused_before_it_is_read(service, isolated_module):
    """256 MiB announced by nothing (Transfer-Encoding: chunked): the 413 comes while the client still sends."""
    _, key = new_key(isolated_module)
    host, port = service.removeprefix("http://").split(":")
    total, piece = 256 * 1024 * 1024, b"x" * 65536
    rss_before = _rss_kib(int(port))
    sock = socket.create_connection((host, int(port)))
    sock.sendall(f"POST /v1/events HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n"
                 "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
    sent, answer = 0, b""
    sock.settimeout(5)
    try:
        while sent < total:
            if select.select([sock], [], [], 0)[0]:
                break  # the server answered
            sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            sent += len(piece)
        answer = sock.recv(65536)
    except TimeoutError as exc:
        raise AssertionError(f"the server stopped reading after {sent} bytes but did not answer") from exc
    except (ConnectionResetError, BrokenPipeError):  # closed on the unread body: the 413 may be lost with it
        pass
    finally:
        sock.close()
    assert sent < total // 8, f"the server read {sent} bytes before refusing"
    assert answer == b"" or answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert _rss_kib(int(port)) - rss_before < 64 * 1024  # KiB: the body was never held


def landing_committed_everything(settings) -> bool:
    """Every message of player.events.raw is committed by the landing group: it has all been landed."""
    partitions = asyncio.run(LagProbe(settings, timeout_s=5.0, cache_s=0.0).partitions())
    return all(p.lag == 0 for p in partitions)


@pytest.mark.parametrize("server", ["uvicorn", "granian"])
def test_metrics_of_several_ingest_processes_are_summed_whichever_process_answers(isolated, tmp_path, server):
    """``serve ingest --workers 2``: each scrape lands on either process and reports both processes' counts."""
    if server == "granian":
        pytest.importorskip("granian", reason="the optional server: pip install 'gamemetrics[granian]'")
    _, key = new_key(isolated)
    requests = 40
    with running_ingest(isolated, tmp_path, workers=2, server=server) as url:
        for _ in range(requests):  # a new connection each: the two processes share them out
            assert post(url, key, {"events": [an_event(), an_event(player_id="p-2")]}).status_code == 200
        scrapes = [scrape(url) for _ in range(12)]
    ok = ("gamemetrics_ingest_requests_total", (("status", "200"),))
    accepted = ("gamemetrics_ingest_events_accepted_total", ())
    assert {s[ok] for s in scrapes} == {requests}
    assert {s[accepted] for s in scrapes} == {2 * requests}
