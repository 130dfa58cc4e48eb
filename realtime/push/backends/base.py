"""What a push backend is: one device kind, one async ``send``, one ``Outcome`` per attempt.

A backend turns the provider's answer into an ``Outcome``; the queue decides
what follows from it (``realtime.push.queue.delivery_record``):

- ``sent``: done.
- ``retry``: a transient failure (network, timeout, 5xx, 429, an expired
  provider token); tried again after a backoff, at least ``retry_after``
  seconds later; a dead letter after ``PUSH_MAX_ATTEMPTS``.
- ``rejected``: this message can never be sent as it is (malformed, too
  large, backend not configured): a dead letter at once; requeue it after the fix.
- ``gone``: the device no longer exists (Web Push 404/410, FCM UNREGISTERED,
  APNs Unregistered/BadDeviceToken): the device is deactivated and the
  delivery dropped, never retried.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from realtime.conf import realtime_settings
from realtime.push.retry import retry_after_seconds

if TYPE_CHECKING:
    from realtime.push.models import Delivery


class Result(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    REJECTED = "rejected"
    GONE = "gone"


@dataclass(frozen=True)
class Outcome:
    result: Result
    status: int | None = None
    error: str = ""
    retry_after: float | None = None

    @classmethod
    def sent(cls, status: int | None = None) -> Outcome:
        return cls(Result.SENT, status)

    @classmethod
    def retry(cls, error: str, *, status: int | None = None, retry_after: float | None = None) -> Outcome:
        return cls(Result.RETRY, status, error, retry_after)

    @classmethod
    def rejected(cls, error: str, *, status: int | None = None) -> Outcome:
        return cls(Result.REJECTED, status, error)

    @classmethod
    def gone(cls, error: str, *, status: int | None = None) -> Outcome:
        return cls(Result.GONE, status, error)


class PushBackend:
    """Base class: subclasses set ``kind`` and implement ``send``; ``get_*()`` methods are the extension points."""

    kind: ClassVar[str]
    #: Settings a configured backend needs, for the "not configured" message.
    required_settings: ClassVar[tuple[str, ...]] = ()
    #: HTTP/2 only (APNs); otherwise HTTP/1.1 with HTTP/2 offered over TLS.
    http2_only: ClassVar[bool] = False

    def __init__(self) -> None:
        self._client: httpx.AsyncClient | None = None

    def is_configured(self) -> bool:
        return all(getattr(realtime_settings, name) for name in self.required_settings)

    def check(self) -> None:
        """Raise ``ImproperlyConfigured`` for a half-done configuration (the worker calls it at start-up)."""

    def not_configured(self) -> Outcome:
        names = " and ".join(f"REALTIME_{name}" for name in self.required_settings)
        return Outcome.rejected(f"The {self.kind} backend is not configured: set {names}.")

    def get_client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=realtime_settings.PUSH_TIMEOUT,
                http1=not self.http2_only,
                http2=True,
                follow_redirects=False,
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def send(self, *, delivery: Delivery, message: dict[str, Any]) -> Outcome:
        raise NotImplementedError

    async def post(self, url: str, **kwargs: Any) -> httpx.Response | Outcome:
        """POST, turning a transport failure (refused, reset, timeout) into a ``retry`` outcome."""
        try:
            return await self.get_client().post(url, **kwargs)
        except httpx.TransportError as exc:
            return Outcome.retry(f"{type(exc).__name__}: {exc}".rstrip(": "))


def http_outcome(response: httpx.Response, *, gone: frozenset[int] = frozenset({404, 410})) -> Outcome:
    """The usual mapping of an HTTP answer: 2xx sent, ``gone`` statuses gone, 429/5xx retry, other 4xx rejected."""
    status = response.status_code
    if 200 <= status < 300:
        return Outcome.sent(status)
    error = f"HTTP {status}: {response.text[:500]}".strip().rstrip(":")
    if status in gone:
        return Outcome.gone(error, status=status)
    if status in (408, 425, 429) or status >= 500:
        return Outcome.retry(error, status=status, retry_after=retry_after_seconds(response.headers.get("retry-after")))
    return Outcome.rejected(error, status=status)
