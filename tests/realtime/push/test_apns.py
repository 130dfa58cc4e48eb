"""APNs over HTTP/2 against a local h2 server: ES256 provider token, headers, payload, error mapping.

The local server speaks HTTP/2 over cleartext with prior knowledge (h2c),
which is what an ``http://`` ``PUSH_APNS_ENDPOINT`` uses; Apple's servers
are reached over TLS with ALPN ``h2``, through the same HTTP/2 client code.
"""

from __future__ import annotations

import json

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from realtime.frames import event_frame
from realtime.push.models import Delivery, Device
from tests.realtime.push.helpers import make_due, push, run_worker
from tests.realtime.push.servers import Received, Reply

pytestmark = pytest.mark.django_db

DEVICE_TOKEN = "a1" * 32
KEY_ID, TEAM_ID, TOPIC = "KEY1234567", "TEAM123456", "com.example.realtime"


def apns_error(status: int, reason: str) -> Reply:
    return Reply(status, json.dumps({"reason": reason}).encode(), {"content-type": "application/json"})


class FakeApns:
    """Checks each request as APNs would and keeps the accepted payloads."""

    def __init__(self, public_key: ec.EllipticCurvePublicKey) -> None:
        self.public_key = public_key
        self.accepted: list[dict] = []

    def __call__(self, request: Received) -> Reply:
        assert request.method == "POST"
        assert request.path == f"/3/device/{DEVICE_TOKEN}"
        scheme, _, token = request.headers["authorization"].partition(" ")
        assert scheme == "bearer"
        assert jwt.get_unverified_header(token) == {"alg": "ES256", "kid": KEY_ID, "typ": "JWT"}
        claims = jwt.decode(token, self.public_key, algorithms=["ES256"])
        assert claims["iss"] == TEAM_ID
        assert request.headers["apns-topic"] == TOPIC
        assert request.headers["apns-push-type"] == "alert"
        assert int(request.headers["apns-expiration"]) > 0
        self.accepted.append(json.loads(request.body))
        return Reply(200, headers={"apns-id": request.headers["apns-id"]})


@pytest.fixture
def apns(h2_receiver, push_settings) -> FakeApns:
    key = ec.generate_private_key(ec.SECP256R1())
    p8 = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    push_settings(
        PUSH_APNS_KEY=p8.decode(),
        PUSH_APNS_KEY_ID=KEY_ID,
        PUSH_APNS_TEAM_ID=TEAM_ID,
        PUSH_APNS_TOPIC=TOPIC,
        PUSH_APNS_ENDPOINT=h2_receiver.url,
    )
    server = FakeApns(key.public_key())
    h2_receiver.handler = server
    return server


@pytest.fixture
def iphone(alice, make_device) -> Device:
    return make_device(alice, Device.Kind.APNS, DEVICE_TOKEN)


def test_an_alert_reaches_apns_over_http2(alice, apns, iphone, h2_receiver):
    """The request is HTTP/2 with a valid ES256 provider token; the payload has the alert and the frame."""
    [notification] = push(alice, title="Shared", body="with you")
    assert run_worker()["sent"] == 1
    [payload] = apns.accepted
    assert payload["aps"]["alert"] == {"title": "Shared", "body": "with you"}
    assert payload["frame"] == event_frame(notification)
    assert len(h2_receiver.received[0].headers["apns-id"]) == 36


@pytest.mark.parametrize(
    "error",
    [apns_error(410, "Unregistered"), apns_error(400, "BadDeviceToken"), apns_error(400, "DeviceTokenNotForTopic")],
    ids=["unregistered", "bad-token", "wrong-topic"],
)
def test_dead_tokens_deactivate_the_device(alice, apns, iphone, h2_receiver, error):
    """Unregistered, BadDeviceToken and DeviceTokenNotForTopic turn the device off without retries."""
    h2_receiver.replies.append(error)
    push(alice)
    run_worker()
    assert Delivery.objects.get().status == "dropped"
    assert Device.objects.get().active is False


def test_transient_errors_retry_and_then_succeed(alice, apns, iphone, h2_receiver):
    """An expired provider token and 429 are retried (the last with Retry-After); then it is sent."""
    h2_receiver.replies.extend(
        [apns_error(403, "ExpiredProviderToken"), Reply(429, b'{"reason":"TooManyRequests"}', {"retry-after": "45"})]
    )
    push(alice)
    run_worker()
    assert Delivery.objects.get().last_status == 403
    make_due()
    run_worker()
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.last_status) == ("pending", 429)
    assert (delivery.next_attempt_at - delivery.updated_at).total_seconds() >= 45
    make_due()
    run_worker()
    assert Delivery.objects.get().status == "sent"
    assert len(apns.accepted) == 1


def test_a_payload_apns_refuses_is_a_dead_letter(alice, apns, iphone, h2_receiver):
    """PayloadTooLarge cannot be fixed by retrying: dead letter, device kept."""
    h2_receiver.replies.append(apns_error(413, "PayloadTooLarge"))
    push(alice)
    run_worker()
    assert Delivery.objects.get().status == "dead"
    assert Device.objects.get().active is True
