"""Webhook delivery end to end: a local receiver verifies the HMAC signature and the body; failures retry."""

from __future__ import annotations

import json
import socket

import pytest

from realtime.frames import event_frame
from realtime.push.models import Delivery, Device
from realtime.push.signing import webhook_verify
from tests.realtime.push.helpers import make_due, push, run_worker
from tests.realtime.push.servers import Reply

pytestmark = pytest.mark.django_db

SECRET = "webhook-secret-for-tests"


@pytest.fixture
def hook(alice, make_device, receiver, push_settings) -> Device:
    return make_device(alice, Device.Kind.WEBHOOK, f"{receiver.url}/hooks/realtime", secret=SECRET)


def test_the_receiver_gets_a_signed_frame(alice, hook, receiver):
    """The POST carries the notification frame as JSON, a valid signature and the idempotency key."""
    [notification] = push(alice, title="Shared", body="with you")
    stats = run_worker()
    assert stats["sent"] == 1
    [request] = receiver.received
    assert request.path == "/hooks/realtime"
    assert request.headers["content-type"] == "application/json"
    assert webhook_verify(secret=SECRET, body=request.body, header=request.headers["x-realtime-signature"])
    assert json.loads(request.body) == event_frame(notification)
    delivery = Delivery.objects.get()
    assert request.headers["x-realtime-delivery"] == delivery.idempotency_key
    assert request.headers["x-realtime-event"] == "tests:push:pushed"
    assert (delivery.status, delivery.attempts, delivery.last_status) == ("sent", 1, 200)


def test_server_errors_are_retried_then_sent(alice, hook, receiver):
    """A 500 and a 429 are retried (the same key each time) until the receiver accepts."""
    receiver.replies.extend([Reply(500, b"boom"), Reply(429, headers={"Retry-After": "0"}), Reply(204)])
    push(alice)
    for status in ("pending", "pending", "sent"):
        run_worker()
        assert Delivery.objects.get().status == status
        make_due()
    assert Delivery.objects.get().attempts == 3
    assert len(receiver.count(lambda r: r.headers["x-realtime-delivery"])) == 1


def test_retry_after_is_honoured(alice, hook, receiver):
    """A 429 with Retry-After: 3600 schedules the next attempt no sooner than an hour later."""
    receiver.replies.append(Reply(429, headers={"Retry-After": "3600"}))
    push(alice)
    run_worker()
    delivery = Delivery.objects.get()
    assert delivery.status == "pending"
    assert (delivery.next_attempt_at - delivery.updated_at).total_seconds() >= 3600
    assert run_worker()["sent"] == 0, "not due yet"


def test_a_receiver_that_keeps_failing_makes_a_dead_letter(alice, hook, receiver, push_settings):
    """After PUSH_MAX_ATTEMPTS failures the delivery is dead, with the last error kept."""
    push_settings(PUSH_MAX_ATTEMPTS=3)
    receiver.handler = lambda request: Reply(503, b"down for maintenance")
    push(alice)
    for _ in range(3):
        run_worker()
        make_due()
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status) == ("dead", 3, 503)
    assert "down for maintenance" in delivery.last_error
    assert len(receiver.received) == 3
    assert Device.objects.get().active is True


def test_410_unregisters_the_webhook(alice, hook, receiver):
    """410 Gone deactivates the webhook device; nothing more is sent to it."""
    receiver.handler = lambda request: Reply(410)
    push(alice)
    push(alice)
    run_worker(batch_size=1)
    assert set(Delivery.objects.values_list("status", flat=True)) == {"dropped"}
    assert Device.objects.get().active is False
    assert len(receiver.received) == 1


def test_an_unreachable_receiver_is_retried(alice, make_device, push_settings):
    """Connection refused is a transient failure, not a dead letter."""
    with socket.socket() as closed:  # bound but not listening: connecting is refused, and no one else can take it
        closed.bind(("127.0.0.1", 0))
        make_device(alice, Device.Kind.WEBHOOK, f"http://127.0.0.1:{closed.getsockname()[1]}/hook")
        push(alice)
        run_worker()
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert "ConnectError" in delivery.last_error
