"""processors/notifications/signing.py: the webhook signature a receiver checks."""

import hashlib
import hmac

from processors.notifications.signing import signature_header, verify

SECRET = "whsec_test"
BODY = b'{"notification_id":"3f0c","title":"hi"}'


def test_the_header_is_t_and_v1_hmac_sha256_of_timestamp_dot_body():
    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert signature_header(SECRET, BODY, 1700000000) == f"t=1700000000,v1={expected}"


def test_a_receiver_accepts_a_fresh_signature():
    header = signature_header(SECRET, BODY, 1700000000)
    assert verify(SECRET, header, BODY, now=1700000100)


def test_a_receiver_refuses_tampering_wrong_secret_stale_or_malformed_headers():
    header = signature_header(SECRET, BODY, 1700000000)
    assert not verify(SECRET, header, BODY + b" ", now=1700000000)
    assert not verify("other", header, BODY, now=1700000000)
    assert not verify(SECRET, header, BODY, now=1700000000 + 301)
    assert not verify(SECRET, "v1=abc", BODY, now=1700000000)
    assert not verify(SECRET, "t=soon,v1=abc", BODY, now=1700000000)
