"""Webhook backend: POST the notification frame as JSON to a service's URL, HMAC-signed.

This is how another service follows changes: it registers a webhook device
for its (service) user and receives each pushed notification as the same
JSON frame a WebSocket client gets. Headers: ``X-Realtime-Signature``
(see ``realtime.push.signing``), ``X-Realtime-Delivery`` (the idempotency
key, the same on every retry: deduplicate on it) and ``X-Realtime-Event``.
2xx is success; 410 unregisters the webhook; anything else is retried with
backoff (honouring ``Retry-After``) until it is a dead letter.
"""

from __future__ import annotations

from typing import Any

import httpx

from realtime import protocol
from realtime.push.backends.base import Outcome, PushBackend
from realtime.push.models import Delivery, Device
from realtime.push.retry import retry_after_seconds
from realtime.push.signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, webhook_sign


class WebhookBackend(PushBackend):
    kind = Device.Kind.WEBHOOK
    user_agent = "realtime-push-webhook/1"

    def get_body(self, *, message: dict[str, Any]) -> bytes:
        return protocol.encode(message).encode()

    async def send(self, *, delivery: Delivery, message: dict[str, Any]) -> Outcome:
        body = self.get_body(message=message)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": self.user_agent,
            SIGNATURE_HEADER: webhook_sign(secret=delivery.device.secret, body=body),
            DELIVERY_HEADER: delivery.idempotency_key,
            EVENT_HEADER: delivery.notification.event,
        }
        response = await self.post(delivery.device.address, content=body, headers=headers)
        if isinstance(response, Outcome):
            return response
        return self.get_outcome(response)

    def get_outcome(self, response: httpx.Response) -> Outcome:
        status = response.status_code
        if 200 <= status < 300:
            return Outcome.sent(status)
        error = f"HTTP {status}: {response.text[:500]}".strip().rstrip(":")
        if status == 410:
            return Outcome.gone(error, status=status)
        return Outcome.retry(error, status=status, retry_after=retry_after_seconds(response.headers.get("retry-after")))
