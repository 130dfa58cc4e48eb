"""Web Push backend (RFC 8030/8291/8292): encrypt with pywebpush, sign with VAPID, POST with httpx.

pywebpush's ``WebPusher.encode`` does the ``aes128gcm`` encryption to the
subscription's ``p256dh``/``auth`` keys and py-vapid signs the ``vapid t=,k=``
Authorization header (audience: the endpoint's origin); the request itself
goes through the worker's shared async httpx client rather than pywebpush's
blocking ``requests`` call. The endpoint is the subscription's own URL,
chosen by the browser that registered it, so the worker connects only to
public addresses or ``PUSH_ALLOWED_INTERNAL_NETWORKS`` (``checks_addresses``).
201/2xx is success; 404 and 410 mean the subscription is gone.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from realtime import protocol
from realtime.conf import realtime_settings
from realtime.push.backends.base import Outcome, PushBackend, PushRequest
from realtime.push.messages import message_fit
from realtime.push.vapid import vapid_signer

if TYPE_CHECKING:
    from realtime.push.models import Delivery

#: Largest plaintext that fits the 4096-byte body push services accept (86-byte header, 17 bytes of padding + tag).
MAX_PLAINTEXT = 3993
VAPID_LIFETIME = 12 * 3600


class WebPushBackend(PushBackend):
    kind = "webpush"
    required_settings = ("PUSH_VAPID_PRIVATE_KEY", "PUSH_VAPID_SUBJECT")
    dependencies = (*PushBackend.dependencies, "pywebpush", "py_vapid", "http_ece", "cryptography")
    checks_addresses = True

    def check(self) -> None:
        super().check()
        if vapid_signer() is None:  # a malformed key fails here, at start-up
            return
        subject = realtime_settings.PUSH_VAPID_SUBJECT
        if not subject.startswith(("mailto:", "https://")):
            raise ImproperlyConfigured(
                f"REALTIME_PUSH_VAPID_SUBJECT={subject!r}: set it to your contact, mailto:you@example.com "
                "or an https:// URL (push services require it with a VAPID key)."
            )

    def get_claims(self, *, endpoint: str) -> dict[str, Any]:
        parts = urlsplit(endpoint)
        return {
            "aud": f"{parts.scheme}://{parts.netloc}",
            "sub": realtime_settings.PUSH_VAPID_SUBJECT,
            "exp": int(time.time()) + VAPID_LIFETIME,
        }

    def get_headers(self, *, delivery: Delivery) -> dict[str, str]:
        signer = vapid_signer()
        assert signer is not None
        return {
            **signer.sign(self.get_claims(endpoint=delivery.device.address)),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(realtime_settings.PUSH_TTL),
            "Urgency": "normal",
        }

    def encrypt(self, *, delivery: Delivery, plaintext: bytes) -> bytes:
        from pywebpush import WebPusher

        device = delivery.device
        subscription = {"endpoint": device.address, "keys": {"p256dh": device.p256dh, "auth": device.auth}}
        return WebPusher(subscription).encode(plaintext, content_encoding="aes128gcm")["body"]

    async def get_request(self, *, delivery: Delivery, message: dict[str, Any]) -> PushRequest | Outcome:
        plaintext = protocol.encode(message_fit(message, limit=MAX_PLAINTEXT)).encode()
        try:
            body = self.encrypt(delivery=delivery, plaintext=plaintext)
        except ImportError:  # a missing package is the server's problem, not the device's
            raise
        except Exception as exc:  # a malformed subscription key: the device can never receive anything
            return Outcome.gone(f"Invalid subscription keys: {exc}")
        return PushRequest(delivery.device.address, body, self.get_headers(delivery=delivery))
