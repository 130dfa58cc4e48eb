"""Webhook backend: POST the notification frame as JSON to a service's URL, HMAC-signed.

This is how another service follows changes: it registers a webhook device
for its (service) user and receives each pushed notification as the same
JSON frame a WebSocket client gets. Headers: ``X-Realtime-Signature``
(see ``realtime.push.signing``), ``X-Realtime-Delivery`` (the idempotency
key, the same on every retry: deduplicate on it) and ``X-Realtime-Event``.
2xx is success; 410 unregisters the webhook; anything else is retried with
backoff (honouring ``Retry-After``) until it is a dead letter. The URL is
the registering service's choice, so the worker connects only to public
addresses or ``PUSH_ALLOWED_INTERNAL_NETWORKS`` (``checks_addresses``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from realtime import protocol
from realtime.push.backends.base import PushBackend, PushRequest, Result
from realtime.push.signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, webhook_sign

if TYPE_CHECKING:
    from realtime.push.models import Delivery


class WebhookBackend(PushBackend):
    kind = "webhook"
    user_agent = "realtime-push-webhook/1"
    checks_addresses = True
    gone_statuses = frozenset({410})
    other_errors = Result.RETRY

    def get_body(self, *, message: dict[str, Any]) -> bytes:
        return protocol.encode(message).encode()

    async def get_request(self, *, delivery: Delivery, message: dict[str, Any]) -> PushRequest:
        body = self.get_body(message=message)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": self.user_agent,
            SIGNATURE_HEADER: webhook_sign(secret=delivery.device.secret, body=body),
            DELIVERY_HEADER: delivery.idempotency_key,
            EVENT_HEADER: delivery.notification.event,
        }
        return PushRequest(delivery.device.address, body, headers)
