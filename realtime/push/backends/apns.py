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
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured

from realtime import protocol
from realtime.conf import realtime_settings
from realtime.push.backends.base import ProviderError, PushBackend, PushRequest
from realtime.push.credentials import credential_text
from realtime.push.messages import message_fit

if TYPE_CHECKING:
    import httpx

    from realtime.push.models import Delivery

MAX_PAYLOAD = 4096
TOKEN_LIFETIME = 50 * 60
GONE_REASONS = frozenset({"Unregistered", "BadDeviceToken", "DeviceTokenNotForTopic"})
TOKEN_REASONS = frozenset({"ExpiredProviderToken", "InvalidProviderToken", "MissingProviderToken"})


class ApnsBackend(PushBackend):
    kind = "apns"
    required_settings = ("PUSH_APNS_KEY", "PUSH_APNS_KEY_ID", "PUSH_APNS_TEAM_ID", "PUSH_APNS_TOPIC")
    dependencies = (*PushBackend.dependencies, "jwt", "cryptography")
    http2_only = True
    gone_statuses = frozenset({410})
    gone_reasons = GONE_REASONS
    renew_reasons = TOKEN_REASONS

    def __init__(self) -> None:
        super().__init__()
        self._token: str | None = None
        self._token_at = 0.0

    @cached_property
    def signing_key(self) -> Any:
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        pem = credential_text(setting="PUSH_APNS_KEY", value=realtime_settings.PUSH_APNS_KEY, marker="-----BEGIN")
        try:
            return load_pem_private_key(pem.encode(), password=None)
        except ValueError as exc:
            raise ImproperlyConfigured(f"REALTIME_PUSH_APNS_KEY is not a PEM private key (.p8): {exc}") from None

    def check(self) -> None:
        super().check()
        configured = [name for name in self.required_settings if getattr(realtime_settings, name)]
        if configured and len(configured) < len(self.required_settings):
            missing = sorted(set(self.required_settings) - set(configured))
            raise ImproperlyConfigured(
                f"APNs is half configured: also set {', '.join('REALTIME_' + n for n in missing)}."
            )
        if configured:
            self.signing_key  # noqa: B018  (loads and validates)

    def provider_token(self) -> str:
        import jwt

        now = time.time()
        if self._token is None or now - self._token_at > TOKEN_LIFETIME:
            claims = {"iss": realtime_settings.PUSH_APNS_TEAM_ID, "iat": int(now)}
            headers = {"kid": realtime_settings.PUSH_APNS_KEY_ID}
            self._token = jwt.encode(claims, self.signing_key, algorithm="ES256", headers=headers)
            self._token_at = now
        return self._token

    def forget_credentials(self) -> None:
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

    async def get_request(self, *, delivery: Delivery, message: dict[str, Any]) -> PushRequest:
        url = f"{realtime_settings.PUSH_APNS_ENDPOINT.rstrip('/')}/3/device/{delivery.device.address}"
        return PushRequest(url, self.get_payload(message=message), self.get_headers(delivery=delivery))

    def get_error(self, response: httpx.Response) -> ProviderError:
        try:
            reason = str(response.json().get("reason", ""))
        except (ValueError, AttributeError):
            reason = ""
        text = f"HTTP {response.status_code} {reason or response.text[:300]}".strip()
        return ProviderError(text, frozenset({reason} - {""}))
