"""APNs backend: Apple Push Notification service over HTTP/2 with token (JWT, ES256) authentication.

The provider token is an ES256 JWT (PyJWT) signed with the ``.p8`` key
(``PUSH_APNS_KEY``: the PEM text or a path), ``kid`` = ``PUSH_APNS_KEY_ID``,
``iss`` = ``PUSH_APNS_TEAM_ID``; it is reused for 50 minutes (Apple rejects
tokens older than an hour and refreshing more than every 20 minutes).
Requests go to ``PUSH_APNS_ENDPOINT/3/device/<token>`` over HTTP/2 only
(``https://api.push.apple.com``, or ``https://api.sandbox.push.apple.com``
for development builds). An ``http://`` endpoint is spoken as HTTP/2 with
prior knowledge (h2c): that is only for local test servers.
410 Unregistered, BadDeviceToken and DeviceTokenNotForTopic deactivate the
device; ExpiredProviderToken/InvalidProviderToken renew the token and retry.
"""

from __future__ import annotations

import time
import uuid
from functools import cached_property
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from django.core.exceptions import ImproperlyConfigured

from realtime import protocol
from realtime.conf import realtime_settings
from realtime.push.backends.base import Outcome, PushBackend
from realtime.push.credentials import credential_text
from realtime.push.messages import message_fit
from realtime.push.models import Delivery, Device
from realtime.push.retry import retry_after_seconds

MAX_PAYLOAD = 4096
TOKEN_LIFETIME = 50 * 60
GONE_REASONS = {"Unregistered", "BadDeviceToken", "DeviceTokenNotForTopic"}
TOKEN_REASONS = {"ExpiredProviderToken", "InvalidProviderToken", "MissingProviderToken"}


class ApnsBackend(PushBackend):
    kind = Device.Kind.APNS
    required_settings = ("PUSH_APNS_KEY", "PUSH_APNS_KEY_ID", "PUSH_APNS_TEAM_ID", "PUSH_APNS_TOPIC")
    http2_only = True

    def __init__(self) -> None:
        super().__init__()
        self._token: str | None = None
        self._token_at = 0.0

    @cached_property
    def signing_key(self) -> Any:
        pem = credential_text(setting="PUSH_APNS_KEY", value=realtime_settings.PUSH_APNS_KEY, marker="-----BEGIN")
        try:
            return load_pem_private_key(pem.encode(), password=None)
        except ValueError as exc:
            raise ImproperlyConfigured(f"REALTIME_PUSH_APNS_KEY is not a PEM private key (.p8): {exc}") from None

    def check(self) -> None:
        configured = [name for name in self.required_settings if getattr(realtime_settings, name)]
        if configured and len(configured) < len(self.required_settings):
            missing = sorted(set(self.required_settings) - set(configured))
            raise ImproperlyConfigured(
                f"APNs is half configured: also set {', '.join('REALTIME_' + n for n in missing)}."
            )
        if configured:
            self.signing_key  # noqa: B018  (loads and validates)

    def provider_token(self) -> str:
        now = time.time()
        if self._token is None or now - self._token_at > TOKEN_LIFETIME:
            claims = {"iss": realtime_settings.PUSH_APNS_TEAM_ID, "iat": int(now)}
            headers = {"kid": realtime_settings.PUSH_APNS_KEY_ID}
            self._token = jwt.encode(claims, self.signing_key, algorithm="ES256", headers=headers)
            self._token_at = now
        return self._token

    def forget_token(self) -> None:
        self._token = None

    def get_payload(self, *, message: dict[str, Any]) -> bytes:
        payload = message.get("payload", {})
        body: dict[str, Any] = {
            "aps": {
                "alert": {"title": payload.get("title", ""), "body": payload.get("body", "")},
                "sound": "default",
                "thread-id": message.get("meta", {}).get("stream", ""),
            },
        }
        room = MAX_PAYLOAD - len(protocol.encode(body).encode()) - len(',"frame":')
        body["frame"] = message_fit(message, limit=room)
        return protocol.encode(body).encode()

    def get_headers(self, *, delivery: Delivery) -> dict[str, str]:
        return {
            "authorization": f"bearer {self.provider_token()}",
            "apns-topic": realtime_settings.PUSH_APNS_TOPIC,
            "apns-push-type": "alert",
            "apns-priority": "10",
            "apns-expiration": str(int(time.time()) + realtime_settings.PUSH_TTL),
            "apns-id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"realtime-push:{delivery.idempotency_key}")),
            "content-type": "application/json",
        }

    async def send(self, *, delivery: Delivery, message: dict[str, Any]) -> Outcome:
        if not self.is_configured():
            return self.not_configured()
        url = f"{realtime_settings.PUSH_APNS_ENDPOINT.rstrip('/')}/3/device/{delivery.device.address}"
        response = await self.post(
            url, content=self.get_payload(message=message), headers=self.get_headers(delivery=delivery)
        )
        if isinstance(response, Outcome):
            return response
        return self.get_outcome(response)

    def get_outcome(self, response: httpx.Response) -> Outcome:
        status = response.status_code
        if status == 200:
            return Outcome.sent(status)
        try:
            reason = str(response.json().get("reason", ""))
        except (ValueError, AttributeError):
            reason = ""
        error = f"HTTP {status} {reason or response.text[:300]}".strip()
        if status == 410 or reason in GONE_REASONS:
            return Outcome.gone(error, status=status)
        if reason in TOKEN_REASONS:
            self.forget_token()
            return Outcome.retry(error, status=status)
        if status == 429 or status >= 500:
            return Outcome.retry(
                error, status=status, retry_after=retry_after_seconds(response.headers.get("retry-after"))
            )
        return Outcome.rejected(error, status=status)
