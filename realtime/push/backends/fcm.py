"""FCM backend: Firebase Cloud Messaging HTTP v1, authorised with a service account's OAuth token.

The service account JSON (``PUSH_FCM_CREDENTIALS``: the JSON text or a path
to the file Firebase gives you) signs an RS256 JWT assertion (PyJWT), which
its ``token_uri`` (or ``PUSH_FCM_TOKEN_URL``) exchanges for a bearer token,
cached until shortly before it expires. Messages go to
``PUSH_FCM_ENDPOINT/v1/projects/<project>/messages:send``. UNREGISTERED,
SENDER_ID_MISMATCH and an INVALID_ARGUMENT about the token deactivate the
device; 401 refreshes the token and retries; 429/5xx retry.
"""

from __future__ import annotations

import asyncio
import json
import time
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured

from realtime import protocol
from realtime.conf import realtime_settings
from realtime.push.backends.base import Outcome, ProviderError, PushBackend, PushRequest
from realtime.push.credentials import credential_json
from realtime.push.messages import message_fit

if TYPE_CHECKING:
    import httpx

    from realtime.push.models import Delivery

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
MAX_FRAME = 3000  # FCM caps the whole message at 4096 bytes; leave room for the notification block
GONE_CODES = frozenset({"UNREGISTERED", "SENDER_ID_MISMATCH"})
#: Our own reason code for an INVALID_ARGUMENT that is about the registration token (the device is gone).
TOKEN_INVALID = "TOKEN_INVALID"


class FcmBackend(PushBackend):
    kind = "fcm"
    required_settings = ("PUSH_FCM_CREDENTIALS",)
    dependencies = (*PushBackend.dependencies, "jwt", "cryptography")
    gone_statuses = frozenset()  # a bare 404 is a wrong project or URL, not a dead token: only the codes say so
    gone_reasons = GONE_CODES | {TOKEN_INVALID}
    rejected_reasons = frozenset({"INVALID_ARGUMENT"})
    renew_statuses = frozenset({401})

    def __init__(self) -> None:
        super().__init__()
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()

    @cached_property
    def service_account(self) -> dict[str, Any]:
        account = credential_json(setting="PUSH_FCM_CREDENTIALS", value=realtime_settings.PUSH_FCM_CREDENTIALS)
        missing = [key for key in ("client_email", "private_key") if not account.get(key)]
        if missing:
            raise ImproperlyConfigured(
                f"REALTIME_PUSH_FCM_CREDENTIALS lacks {', '.join(missing)}: use a service account key."
            )
        if not (realtime_settings.PUSH_FCM_PROJECT_ID or account.get("project_id")):
            raise ImproperlyConfigured("Set REALTIME_PUSH_FCM_PROJECT_ID (the service account JSON has no project_id).")
        return account

    def check(self) -> None:
        super().check()
        if self.is_configured():
            self.service_account  # noqa: B018  (loads and validates)

    def get_project_id(self) -> str:
        return realtime_settings.PUSH_FCM_PROJECT_ID or self.service_account["project_id"]

    def get_token_url(self) -> str:
        return (
            realtime_settings.PUSH_FCM_TOKEN_URL
            or self.service_account.get("token_uri")
            or "https://oauth2.googleapis.com/token"
        )

    def get_send_url(self) -> str:
        return f"{realtime_settings.PUSH_FCM_ENDPOINT.rstrip('/')}/v1/projects/{self.get_project_id()}/messages:send"

    def get_assertion(self) -> str:
        import jwt

        account = self.service_account
        now = int(time.time())
        claims = {
            "iss": account["client_email"],
            "scope": SCOPE,
            "aud": self.get_token_url(),
            "iat": now,
            "exp": now + 3600,
        }
        headers = {"kid": account["private_key_id"]} if account.get("private_key_id") else None
        return jwt.encode(claims, account["private_key"], algorithm="RS256", headers=headers)

    async def access_token(self) -> str | Outcome:
        """A cached OAuth bearer token, fetched when missing or about to expire."""
        async with self._token_lock:
            if self._token and time.monotonic() < self._token_expires:
                return self._token
            response = await self.post(
                self.get_token_url(), data={"grant_type": GRANT_TYPE, "assertion": self.get_assertion()}
            )
            if isinstance(response, Outcome):
                return response
            if response.status_code != 200:
                return Outcome.retry(f"OAuth token request failed: HTTP {response.status_code}: {response.text[:300]}")
            grant = response.json()
            self._token = grant["access_token"]
            self._token_expires = time.monotonic() + float(grant.get("expires_in", 3600)) - 60
            return self._token

    def forget_credentials(self) -> None:
        self._token = None

    def get_message(self, *, delivery: Delivery, message: dict[str, Any]) -> dict[str, Any]:
        payload = message.get("payload", {})
        return {
            "message": {
                "token": delivery.device.address,
                "notification": {"title": payload.get("title", ""), "body": payload.get("body", "")},
                "data": {
                    "type": message.get("type", ""),
                    "client_action": payload.get("client_action") or "",
                    "frame": protocol.encode(message_fit(message, limit=MAX_FRAME)),
                },
                "android": {"ttl": f"{realtime_settings.PUSH_TTL}s"},
            }
        }

    async def get_request(self, *, delivery: Delivery, message: dict[str, Any]) -> PushRequest | Outcome:
        token = await self.access_token()
        if isinstance(token, Outcome):
            return token
        body = json.dumps(self.get_message(delivery=delivery, message=message)).encode()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        return PushRequest(self.get_send_url(), body, headers)

    def get_error(self, response: httpx.Response) -> ProviderError:
        error = _fcm_error(response)
        text = f"HTTP {response.status_code} {error['status']} {error['code']}: {error['message']}".strip()
        reasons = {error["status"], error["code"]} - {""}
        if "INVALID_ARGUMENT" in reasons and error["token_invalid"]:
            reasons.add(TOKEN_INVALID)
        return ProviderError(text, frozenset(reasons))


def _fcm_error(response: httpx.Response) -> dict[str, Any]:
    """``status`` (google.rpc), ``code`` (FcmError.errorCode), ``message`` and whether the token is at fault."""
    try:
        error = response.json().get("error", {})
    except (ValueError, AttributeError):
        error = {}
    if not isinstance(error, dict):
        error = {}
    code = ""
    token_invalid = False
    for detail in error.get("details") or []:
        if not isinstance(detail, dict):
            continue
        code = detail.get("errorCode") or code
        for violation in detail.get("fieldViolations") or []:
            if isinstance(violation, dict) and violation.get("field") == "message.token":
                token_invalid = True
    message = str(error.get("message", "")) or response.text[:300]
    token_invalid = token_invalid or "registration token" in message.lower()
    return {"status": str(error.get("status", "")), "code": code, "message": message, "token_invalid": token_invalid}
