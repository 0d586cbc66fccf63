"""CORS, sendBeacon bodies, validate-only, and the Segment and GameAnalytics endpoints' contract,
against a live ingest process on the real Kafka, PostgreSQL and Redis (the SDKs themselves:
tests/clients)."""

from __future__ import annotations

import base64
import gzip
import time
import uuid

import httpx
import orjson
import pytest
from confluent_kafka import Consumer, TopicPartition

from ingest.gameanalytics import signature
from store import db
from store.gameanalytics import issue_key_pair
from store.secret_box import SecretBox
from streams.topics import RAW_EVENTS
from tests.helpers import an_event, new_key, post
from tests.services import running_ingest

pytestmark = pytest.mark.integration

LIMITS = {
    "GAMEMETRICS_INGEST_RATE_LIMIT_EVENTS_PER_S": "1",  # slow refill: a spent budget stays spent
    "GAMEMETRICS_INGEST_RATE_LIMIT_BURST": "300",
    "GAMEMETRICS_INGEST_CORS_MAX_AGE_S": "600",
}


@pytest.fixture(scope="module")
def service(isolated_module, tmp_path_factory):
    with running_ingest(isolated_module, tmp_path_factory.mktemp("ingest"), LIMITS) as url:
        yield url


def raw_messages(settings) -> int:
    """Messages in the raw topic so far (the sum of its partitions' high watermarks)."""
    topic = settings.topic(RAW_EVENTS.name)
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap_servers, "group.id": f"count-{uuid.uuid4()}"})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return sum(consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions)
    finally:
        consumer.close()


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def a_track(player: str = "seg-1", **overrides) -> dict:
    return {"type": "track", "messageId": str(uuid.uuid4()), "userId": player, "event": "Level Up",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "properties": {"level": 1}, **overrides}


# -- CORS and sendBeacon -------------------------------------------------------------------------


def test_cors_preflight_is_answered_and_cached_for_any_origin(service):
    response = httpx.options(f"{service}/v2/{'a' * 32}/events", headers={
        "Origin": "https://game.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-max-age"] == "600"
    assert "authorization" in response.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in response.headers


def test_a_cross_origin_post_gets_the_allow_origin_header(service, isolated_module):
    _, key = new_key(isolated_module)
    response = post(service, key, {"events": [an_event()]}, headers={"Origin": "https://game.example"})
    assert response.status_code == 200 and response.headers["access-control-allow-origin"] == "*"


def test_send_beacon_text_plain_body_with_the_key_in_the_query(service, isolated_module):
    _, key = new_key(isolated_module)
    response = httpx.post(f"{service}/v1/events", params={"api_key": key}, content=orjson.dumps({"events": [an_event()]}),
                          headers={"Content-Type": "text/plain;charset=UTF-8", "Origin": "https://game.example"})
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 1, "rejected": []}


# -- validate-only -------------------------------------------------------------------------------


def test_validate_only_says_what_would_happen_and_stores_nothing(service, isolated_module):
    _, key = new_key(isolated_module)
    before = raw_messages(isolated_module)
    body = {"events": [an_event(), an_event(event_type="Bad Type")]}
    for response in (post(service, key, body, headers={"X-GameMetrics-Validate-Only": "1"}),
                     httpx.post(f"{service}/v1/events?validate_only=true", content=orjson.dumps(body),
                                headers={"Authorization": f"Bearer {key}"})):
        assert response.status_code == 200, response.text
        verdict = response.json()
        assert verdict["validate_only"] is True and verdict["accepted"] == 1
        assert verdict["rejected"][0]["index"] == 1 and "event_type" in verdict["rejected"][0]["errors"][0]
    segment = httpx.post(f"{service}/v1/batch", json={"batch": [a_track(), a_track(userId=None)]},
                         headers={**basic(key), "X-GameMetrics-Validate-Only": "1"})
    assert segment.json()["accepted"] == 1 and segment.json()["validate_only"] is True
    assert raw_messages(isolated_module) == before
    assert post(service, key, body).json()["accepted"] == 1  # without the flag: stored
    assert raw_messages(isolated_module) == before + 1


# -- Segment -------------------------------------------------------------------------------------


def test_segment_batch_with_basic_auth_or_write_key_and_gzip(service, isolated_module):
    _, key = new_key(isolated_module)
    response = httpx.post(f"{service}/v1/batch", json={"batch": [a_track(), a_track("seg-2")]}, headers=basic(key))
    assert response.status_code == 200 and response.json() == {"success": True, "accepted": 2}
    body = gzip.compress(orjson.dumps({"batch": [a_track()], "writeKey": key, "sentAt": a_track()["timestamp"]}))
    response = httpx.post(f"{service}/v1/batch", content=body,
                          headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert response.status_code == 200 and response.json()["accepted"] == 1
    for path, message in (("track", a_track()), ("identify", {"userId": "u", "traits": {"a": 1}}),
                          ("page", {"anonymousId": "a", "name": "Home"}), ("screen", {"userId": "u", "name": "Shop"}),
                          ("group", {"userId": "u", "groupId": "g"}), ("alias", {"userId": "u", "previousId": "p"})):
        response = httpx.post(f"{service}/v1/{path}", json=message, headers=basic(key))
        assert response.status_code == 200 and response.json() == {"success": True, "accepted": 1}, (path, response.text)


def test_segment_refusals_are_segment_shaped(service, isolated_module):
    _, key = new_key(isolated_module)
    missing = httpx.post(f"{service}/v1/batch", json={"batch": [a_track()]})
    assert missing.status_code == 401 and missing.json()["success"] is False
    wrong = httpx.post(f"{service}/v1/batch", json={"batch": [a_track()]}, headers=basic("gm_nope"))
    assert wrong.status_code == 401 and "unknown" in wrong.json()["message"]
    too_big = httpx.post(f"{service}/v1/batch", headers=basic(key),
                         json={"batch": [a_track(properties={"blob": "x" * 1000, "n": i}) for i in range(520)]})
    assert too_big.status_code == 400 and too_big.json()["code"] == "PayloadTooLarge" and "500" in too_big.text
    track_too_big = httpx.post(f"{service}/v1/track", json=a_track(properties={f"k{i}": "x" * 1000 for i in range(40)}),
                               headers=basic(key))
    assert track_too_big.status_code == 400 and track_too_big.json()["success"] is False


def test_segment_a_message_over_32_kb_is_refused_alone(service, isolated_module):
    _, key = new_key(isolated_module)
    big = a_track(properties={f"k{i}": "x" * 1000 for i in range(40)})
    response = httpx.post(f"{service}/v1/batch", json={"batch": [a_track(), big, {"type": "track", "event": "x"}]},
                          headers=basic(key))
    assert response.status_code == 200
    answer = response.json()
    assert answer["accepted"] == 1
    assert [(r["index"], r["event_id"]) for r in answer["rejected"]] == [(1, big["messageId"]), (2, None)]
    assert "32 KB" in answer["rejected"][0]["errors"][0] and "userId" in answer["rejected"][1]["errors"][0]


# -- GameAnalytics -------------------------------------------------------------------------------


@pytest.fixture
def ga_game(isolated_module):
    game_id, _ = new_key(isolated_module)
    with db.connect(isolated_module, autocommit=True) as conn:
        return issue_key_pair(conn, game_id, SecretBox(isolated_module.secret_box_key.get_secret_value()))


def ga_post(url: str, path: str, secret: str, body: bytes, gzipped: bool = False, **headers) -> httpx.Response:
    raw = gzip.compress(body) if gzipped else body
    return httpx.post(f"{url}{path}", content=raw, headers={
        "Authorization": signature(secret, raw), "Content-Type": "application/json",
        **({"Content-Encoding": "gzip"} if gzipped else {}), **headers})


def ga_event(category="user", **fields) -> dict:
    return {"v": 2, "event_uuid": str(uuid.uuid4()), "user_id": "ga-1", "client_ts": int(time.time()),
            "session_id": "s-1", "platform": "webgl", "build": "1.0", "category": category, **fields}


def test_ga_init_answers_server_ts_and_an_empty_config(service, ga_game):
    for path in (f"/remote_configs/v1/init?game_key={ga_game.game_key}&interval_seconds=0&configs_hash=",
                 f"/v2/{ga_game.game_key}/init"):
        response = ga_post(service, path, ga_game.secret_key, b'{"user_id":"ga-1","platform":"webgl"}')
        assert response.status_code == 200, response.text
        answer = response.json()
        assert abs(answer["server_ts"] - time.time()) < 60 and answer["configs"] == []


def test_ga_events_signed_over_the_gzipped_bytes(service, ga_game):
    body = orjson.dumps([ga_event(), ga_event("design", event_id="Kill:Robot", value=1), ga_event("nope")])
    response = ga_post(service, f"/v2/{ga_game.game_key}/events", ga_game.secret_key, body, gzipped=True)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["accepted"] == 2 and answer["rejected"][0]["index"] == 2
    assert answer["rejected"][0]["errors"][0].startswith("events[2].category")


def test_ga_wrong_hmac_or_game_key_is_401(service, ga_game):
    body = orjson.dumps([ga_event()])
    wrong = ga_post(service, f"/v2/{ga_game.game_key}/events", "x" * 40, body)
    assert wrong.status_code == 401 and wrong.content  # with a body: the SDK stops, it does not retry
    unknown = ga_post(service, f"/v2/{'Z' * 32}/events", ga_game.secret_key, body)
    assert unknown.status_code == 401
    # signed over the gunzipped bytes while sending gzip: refused too
    raw = gzip.compress(body)
    mismatched = httpx.post(f"{service}/v2/{ga_game.game_key}/events", content=raw, headers={
        "Authorization": signature(ga_game.secret_key, body), "Content-Encoding": "gzip"})
    assert mismatched.status_code == 401


def test_ga_retry_is_an_empty_body_503(service, ga_game):
    """Over the game's rate budget: an empty-body 503 (the JS SDK re-queues on an empty body only)."""
    path = f"/v2/{ga_game.game_key}/events"
    first = ga_post(service, path, ga_game.secret_key, orjson.dumps([ga_event() for _ in range(300)]))
    assert first.status_code == 200 and first.json()["accepted"] == 300
    spent = ga_post(service, path, ga_game.secret_key, orjson.dumps([ga_event() for _ in range(50)]))
    assert spent.status_code == 503 and spent.content == b"" and int(spent.headers["retry-after"]) > 0


def test_segment_mobile_and_csharp_paths(service, isolated_module):
    """analytics-csharp/-kotlin/-swift post to {apiHost}/b and read {cdnHost}/projects/{key}/settings."""
    _, key = new_key(isolated_module)
    settings = httpx.get(f"{service}/v1/projects/{key}/settings")
    assert settings.status_code == 200 and settings.json()["integrations"]["Segment.io"]["apiKey"] == key
    response = httpx.post(f"{service}/v1/b", json={"batch": [a_track()]}, headers=basic(key))
    assert response.status_code == 200 and response.json() == {"success": True, "accepted": 1}


def test_ga_refused_signatures_are_throttled_per_address(service, ga_game):
    """Last in the module: it spends this address's budget of refusals (20 at once, then 1/s)."""
    body = orjson.dumps([ga_event()])
    statuses = [ga_post(service, f"/v2/{ga_game.game_key}/events", "x" * 40, body).status_code for _ in range(30)]
    assert statuses[0] == 401 and statuses[-1] == 503
    throttled = ga_post(service, f"/v2/{ga_game.game_key}/events", ga_game.secret_key, body)
    assert throttled.status_code == 503 and throttled.content == b""  # even a good signature waits: checked first
