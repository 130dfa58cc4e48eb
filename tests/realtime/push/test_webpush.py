"""Web Push end to end: a local push service checks the VAPID JWT and decrypts the aes128gcm body."""

from __future__ import annotations

import json

import http_ece
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from realtime.frames import event_frame
from realtime.push.models import Delivery, Device
from realtime.push.vapid import vapid_keys_generate
from tests.realtime.push.helpers import Subscription, b64url_decode, make_due, push, run_worker
from tests.realtime.push.servers import Received, Reply

pytestmark = pytest.mark.django_db

SUBJECT = "mailto:push@example.com"


class PushService:
    """What a push service checks before it accepts a message, and the decrypted payloads it accepted."""

    def __init__(self, *, origin: str, public_key: str, subscription: Subscription) -> None:
        self.origin = origin
        self.public_key = public_key
        self.subscription = subscription
        self.accepted: list[dict] = []

    def __call__(self, request: Received) -> Reply:
        scheme, _, params = request.headers["authorization"].partition(" ")
        fields = dict(part.split("=", 1) for part in params.split(","))
        assert scheme == "vapid"
        assert fields["k"] == self.public_key, "signed with the configured VAPID key"
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(fields["k"]))
        claims = jwt.decode(fields["t"], key, algorithms=["ES256"], audience=self.origin)  # checks exp too
        assert claims["sub"] == SUBJECT
        assert request.headers["content-encoding"] == "aes128gcm"
        assert int(request.headers["ttl"]) > 0
        plaintext = http_ece.decrypt(
            request.body,
            private_key=self.subscription.private_key,
            auth_secret=self.subscription.auth_secret,
            version="aes128gcm",
        )
        self.accepted.append(json.loads(plaintext))
        return Reply(201)


@pytest.fixture
def vapid(push_settings) -> str:
    private, public = vapid_keys_generate()
    push_settings(PUSH_VAPID_PRIVATE_KEY=private, PUSH_VAPID_SUBJECT=SUBJECT)
    return public


@pytest.fixture
def subscription(alice, receiver, make_device) -> Subscription:
    browser = Subscription(f"{receiver.url}/push/v2/abc123")
    make_device(alice, Device.Kind.WEBPUSH, browser.endpoint, p256dh=browser.p256dh, auth=browser.auth)
    return browser


def test_the_push_service_decrypts_the_notification(alice, receiver, vapid, subscription):
    """The VAPID JWT verifies for the endpoint's origin and the decrypted payload is the notification frame."""
    service = PushService(origin=receiver.url, public_key=vapid, subscription=subscription)
    receiver.handler = service
    [notification] = push(alice, title="Plans shared", body="alice shared “Plans” with you")
    assert run_worker()["sent"] == 1
    assert service.accepted == [event_frame(notification)]
    assert receiver.received[0].path == "/push/v2/abc123"
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.last_status) == ("sent", 201)


def test_a_large_notification_is_shrunk_to_fit(alice, receiver, vapid, subscription):
    """Over the 4 KB limit the frame drops its data and shortens its body, and still decrypts."""
    service = PushService(origin=receiver.url, public_key=vapid, subscription=subscription)
    receiver.handler = service
    push(alice, body="b" * 6000, payload={"blob": "x" * 6000})
    run_worker()
    [frame] = service.accepted
    assert frame["truncated"] is True
    assert len(receiver.received[0].body) <= 4096


@pytest.mark.parametrize("status", [404, 410])
def test_expired_subscriptions_deactivate_the_device(alice, receiver, vapid, subscription, status):
    """404 and 410 from the push service mean the subscription is gone: device off, not retried."""
    receiver.handler = lambda request: Reply(status)
    push(alice)
    run_worker()
    make_due()
    run_worker()
    assert len(receiver.received) == 1
    assert Delivery.objects.get().status == "dropped"
    device = Device.objects.get()
    assert device.active is False
    assert str(status) in device.deactivated_reason


def test_server_errors_and_rate_limits_retry(alice, receiver, vapid, subscription):
    """500 and 429 keep the subscription and retry; 429's Retry-After sets the earliest next attempt."""
    receiver.replies.extend([Reply(500), Reply(429, headers={"Retry-After": "90"})])
    receiver.handler = PushService(origin=receiver.url, public_key=vapid, subscription=subscription)
    push(alice)
    run_worker()
    assert Delivery.objects.get().status == "pending"
    make_due()
    run_worker()
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.last_status) == ("pending", 429)
    assert (delivery.next_attempt_at - delivery.updated_at).total_seconds() >= 90
    make_due()
    run_worker()
    assert Delivery.objects.get().status == "sent"
    assert Device.objects.get().active is True


def test_a_rejected_message_is_a_dead_letter(alice, receiver, vapid, subscription):
    """413 (payload too large) cannot succeed by retrying: dead letter at once, device kept."""
    receiver.handler = lambda request: Reply(413)
    push(alice)
    run_worker()
    assert Delivery.objects.get().status == "dead"
    assert Device.objects.get().active is True


def test_without_vapid_keys_deliveries_are_dead_letters(alice, receiver, subscription, push_settings):
    """A Web Push delivery with no VAPID key configured dies with a message naming the setting."""
    push(alice)
    run_worker()
    delivery = Delivery.objects.get()
    assert delivery.status == "dead"
    assert "REALTIME_PUSH_VAPID_PRIVATE_KEY" in delivery.last_error
    assert receiver.received == []
