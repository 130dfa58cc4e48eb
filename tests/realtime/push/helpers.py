"""Helpers for push tests: a browser-side Web Push subscription, pushing a notification, running a worker."""

from __future__ import annotations

import base64
from collections import Counter
from typing import Any

from asgiref.sync import async_to_sync
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.utils import timezone

from realtime.events import EventRegistry
from realtime.models import Notification
from realtime.push.models import Delivery
from realtime.push.worker import PushWorker

events = EventRegistry("tests")
PUSHED = events.define("push:pushed", action_type="CREATE_NOTIFICATION")

#: Where the local test receivers listen (the webhook and Web Push clients refuse non-public addresses otherwise).
LOOPBACK = "127.0.0.0/8,::1/128"

#: Retries are never due within one worker run: tests make them due explicitly (``make_due``), no sleeping.
PUSH_SETTINGS = {
    "PUSH_BACKOFF_BASE": 60.0,
    "PUSH_BACKOFF_MAX": 600.0,
    "PUSH_MAX_ATTEMPTS": 4,
    "PUSH_REQUIRE_HTTPS": False,
    "PUSH_WEBPUSH_HOSTS": "*",  # the local test receivers
    "PUSH_ALLOWED_INTERNAL_NETWORKS": LOOPBACK,  # ... listen on loopback addresses, which are refused otherwise
    "PUSH_TIMEOUT": 5.0,
}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Subscription:
    """A browser's side of a Web Push subscription: its P-256 key pair and auth secret."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth_secret = b"0123456789abcdef"

    @property
    def p256dh(self) -> str:
        raw = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(raw)

    @property
    def auth(self) -> str:
        return b64url(self.auth_secret)

    def as_json(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


def push(*users: Any, title: str = "Hello", body: str = "A pushed notification", **fields: Any) -> list[Notification]:
    """Append a user-facing ``push=True`` notification to each user's inbox (the real path)."""
    return events.send(
        PUSHED, users=users, title=title, body=body, payload=fields.pop("payload", {"n": 1}), push=True, **fields
    )


def run_worker(**kwargs: Any) -> Counter[str]:
    """Run a worker in this thread's database connection until nothing is due; returns its counters."""
    return async_to_sync(PushWorker(name="test-worker", **kwargs).drain)()


def make_due() -> None:
    """Make every pending delivery due now (instead of waiting out its backoff)."""
    Delivery.objects.filter(status=Delivery.Status.PENDING).update(next_attempt_at=timezone.now())


def b64url_decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
