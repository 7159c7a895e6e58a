"""Standard Webhooks signing: our signatures verify with the reference library, both ways."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from coord.domain import signing


def test_generated_secrets_are_whsec_base64_of_32_random_bytes():
    first, second = signing.generate_secret(), signing.generate_secret()
    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32
    assert signing.secret_key(first) == base64.b64decode(first.removeprefix("whsec_"))


@pytest.mark.parametrize("bad", ["", "whsec_", "sk_abc", "whsec_***not base64***"])
def test_malformed_secrets_are_refused(bad):
    with pytest.raises(signing.InvalidSecret):
        signing.secret_key(bad)


@given(
    body=st.binary(max_size=2000).map(lambda b: b.hex().encode()),
    msg_id=st.from_regex(r"msg_[A-Za-z0-9_-]{1,40}", fullmatch=True),
)
def test_our_signature_verifies_with_the_reference_library(body, msg_id):
    secret = signing.generate_secret()
    now = int(time.time())
    headers = signing.signed_headers([secret], msg_id, now, body)
    assert Webhook(secret).verify(body, headers, json_parse=False) is None
    # and it is exactly the library's own signature
    expected = Webhook(secret).sign(msg_id, datetime.fromtimestamp(now, UTC), body.decode())
    assert headers["webhook-signature"] == expected


def test_during_rotation_either_secret_verifies_the_same_message():
    new, old = signing.generate_secret(), signing.generate_secret()
    body = b'{"type":"ping","timestamp":"2026-03-04T03:00:00Z","data":{}}'
    headers = signing.signed_headers([new, old], "msg_1", int(time.time()), body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (new, old):
        Webhook(secret).verify(body, headers)
        assert signing.verify(secret, headers, body, time.time())
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.generate_secret()).verify(body, headers)


def test_verification_refuses_tampering_wrong_secrets_and_stale_timestamps():
    secret = signing.generate_secret()
    now = int(time.time())
    body = b'{"a":1}'
    headers = signing.signed_headers([secret], "msg_x", now, body)
    assert signing.verify(secret, headers, body, now)
    assert not signing.verify(secret, headers, b'{"a":2}', now)
    assert not signing.verify(signing.generate_secret(), headers, body, now)
    assert not signing.verify(secret, {**headers, "webhook-id": "msg_y"}, body, now)
    assert not signing.verify(secret, headers, body, now + 301)
    assert not signing.verify(secret, {"webhook-id": "msg_x"}, body, now)
    stale = signing.signed_headers([secret], "msg_x", now - 3600, body)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, stale)


def test_signing_needs_a_secret():
    with pytest.raises(signing.InvalidSecret):
        signing.signature_header([], "msg_1", 0, b"")
