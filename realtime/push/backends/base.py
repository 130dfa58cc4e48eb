"""What a push backend is: one device kind, one ``send`` template, one ``Outcome`` per attempt.

``PushBackend.send`` is the same for every provider: refuse when not
configured, build the request (``get_request``, the per-provider hook),
POST it with the worker's keep-alive client and ``PUSH_TIMEOUT``
(``post``), and classify the answer (``get_outcome``). A provider says how
its answers read with class attributes (which statuses and reason codes
mean the device is gone, the message is refused, or the credentials need
renewing) and, where its error bodies carry codes, with ``get_error``.

The queue decides what follows from an ``Outcome``
(``realtime.push.queue.delivery_record``):

- ``sent``: done.
- ``retry``: a transient failure (network, timeout, 5xx, 429, an expired
  provider token); tried again after a backoff, at least ``retry_after``
  seconds later; a dead letter after ``PUSH_MAX_ATTEMPTS``.
- ``rejected``: this message can never be sent as it is (malformed, too
  large, backend not configured): a dead letter at once; requeue it after the fix.
- ``gone``: the device can never receive anything (Web Push 404/410, FCM
  UNREGISTERED, APNs Unregistered/BadDeviceToken, or a user-chosen URL
  whose address the worker refuses to connect to): the device is
  deactivated and the delivery dropped, never retried.

Optional packages (httpx, h2, pywebpush, PyJWT, ...) are imported where
they are used, never when this package is imported; ``check()`` names the
missing ones (``pip install django-realtime-subscriptions[push]``) at start-up for every
configured backend.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from django.core.exceptions import ImproperlyConfigured

from realtime.conf import realtime_settings
from realtime.push.addresses import TargetRefused, allowed_networks
from realtime.push.retry import retry_after_seconds

if TYPE_CHECKING:
    import ssl

    import httpx

    from realtime.push.models import Delivery

#: How to get the optional packages of push delivery.
INSTALL_HINT = "pip install django-realtime-subscriptions[push]"


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


@dataclass(frozen=True)
class PushRequest:
    """One provider request: where to POST, the body, the headers."""

    url: str
    content: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderError:
    """A provider's non-2xx answer as read from its body: the text kept as ``last_error``, its reason codes."""

    text: str
    reasons: frozenset[str] = frozenset()


def missing_modules(names: tuple[str, ...]) -> list[str]:
    """Which of the importable ``names`` are not installed (found without importing them)."""
    missing = []
    for name in names:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # ValueError: a module set to None in sys.modules (blocked)
            found = False
        if not found:
            missing.append(name)
    return missing


class PushBackend:
    """Base class: subclasses set ``kind`` and implement ``get_request``; the rest are overridable hooks."""

    kind: ClassVar[str]
    #: Settings a configured backend needs, for the "not configured" message.
    required_settings: ClassVar[tuple[str, ...]] = ()
    #: Modules ``send`` imports; a configured backend without them fails ``check()`` (``INSTALL_HINT``).
    dependencies: ClassVar[tuple[str, ...]] = ("httpx", "h2")
    #: HTTP/2 only (APNs); otherwise HTTP/1.1 with HTTP/2 offered over TLS.
    http2_only: ClassVar[bool] = False
    #: The URL is chosen by a user (webhook, Web Push): connect only to addresses that pass
    #: ``realtime.push.addresses`` (public, or in ``PUSH_ALLOWED_INTERNAL_NETWORKS``), checked after resolution.
    checks_addresses: ClassVar[bool] = False

    # How the provider's answers read (``get_outcome``), checked in this order after a 2xx:
    #: Statuses and reason codes that mean the device is gone: deactivate it.
    gone_statuses: ClassVar[frozenset[int]] = frozenset({404, 410})
    gone_reasons: ClassVar[frozenset[str]] = frozenset()
    #: Reason codes that mean this message can never be sent: a dead letter.
    rejected_reasons: ClassVar[frozenset[str]] = frozenset()
    #: Statuses and reason codes that mean the provider token expired: ``forget_credentials()``, then retry.
    renew_statuses: ClassVar[frozenset[int]] = frozenset()
    renew_reasons: ClassVar[frozenset[str]] = frozenset()
    #: Transient statuses (and every 5xx): retry, no sooner than ``Retry-After``.
    retry_statuses: ClassVar[frozenset[int]] = frozenset({408, 425, 429})
    #: Any other non-2xx answer.
    other_errors: ClassVar[Result] = Result.REJECTED

    def __init__(self) -> None:
        self._client: httpx.AsyncClient | None = None

    def is_configured(self) -> bool:
        return all(getattr(realtime_settings, name) for name in self.required_settings)

    def check(self) -> None:
        """Raise ``ImproperlyConfigured`` when configured but unable to work (missing package, bad setting).

        Every process calls it at start-up (``PushConfig.ready``); subclasses extend it, calling ``super()``.
        """
        if self.is_configured() and (missing := missing_modules(self.dependencies)):
            raise ImproperlyConfigured(
                f"The {self.kind} push backend needs {', '.join(missing)} (not installed): {INSTALL_HINT}."
            )
        if self.checks_addresses:
            allowed_networks()

    def not_configured(self) -> Outcome:
        names = " and ".join(f"REALTIME_{name}" for name in self.required_settings)
        return Outcome.rejected(f"The {self.kind} backend is not configured: set {names}.")

    # --- the template -------------------------------------------------------------------------------------

    async def send(self, *, delivery: Delivery, message: dict[str, Any]) -> Outcome:
        """Build the request, POST it, classify the answer; never raises for a provider's or network's failure."""
        if not self.is_configured():
            return self.not_configured()
        request = await self.get_request(delivery=delivery, message=message)
        if isinstance(request, Outcome):
            return request
        response = await self.post(request.url, content=request.content, headers=request.headers)
        if isinstance(response, Outcome):
            return response
        return self.get_outcome(response)

    async def get_request(self, *, delivery: Delivery, message: dict[str, Any]) -> PushRequest | Outcome:
        """The provider request for ``message`` to ``delivery.device``, or the outcome when none can be made."""
        raise NotImplementedError

    def get_outcome(self, response: httpx.Response) -> Outcome:
        status = response.status_code
        if 200 <= status < 300:
            return Outcome.sent(status)
        error = self.get_error(response)
        result = self.classify(status=status, reasons=error.reasons)
        if result == Result.RETRY:
            retry_after = retry_after_seconds(response.headers.get("retry-after"))
            return Outcome.retry(error.text, status=status, retry_after=retry_after)
        return Outcome(result, status, error.text)

    def get_error(self, response: httpx.Response) -> ProviderError:
        """Read a non-2xx answer; providers whose bodies carry reason codes override it."""
        return ProviderError(f"HTTP {response.status_code}: {response.text[:500]}".strip().rstrip(":"))

    def classify(self, *, status: int, reasons: frozenset[str]) -> Result:
        if status in self.gone_statuses or reasons & self.gone_reasons:
            return Result.GONE
        if reasons & self.rejected_reasons:
            return Result.REJECTED
        if status in self.renew_statuses or reasons & self.renew_reasons:
            self.forget_credentials()
            return Result.RETRY
        if status in self.retry_statuses or status >= 500:
            return Result.RETRY
        return self.other_errors

    def forget_credentials(self) -> None:
        """Drop a cached provider token, so the next request fetches or signs a new one."""

    # --- HTTP -------------------------------------------------------------------------------------------

    def get_ssl_context(self) -> ssl.SSLContext:
        """The TLS context of this backend's client (default: certifi's CAs, ``SSL_CERT_FILE``/``SSL_CERT_DIR``)."""
        import httpx

        return httpx.create_ssl_context()

    async def resolve(self, host: str, port: int) -> list[str]:
        """The addresses to check and connect to for ``host`` (``checks_addresses`` backends; default: the system)."""
        from realtime.push.transport import system_resolve

        return await system_resolve(host, port)

    def get_client(self) -> httpx.AsyncClient:
        if self._client is None:
            import httpx

            if self.checks_addresses:
                from realtime.push.transport import CheckedTransport

                transport = CheckedTransport(
                    ssl_context=self.get_ssl_context(), http1=not self.http2_only, http2=True, resolve=self.resolve
                )
                self._client = httpx.AsyncClient(
                    transport=transport,
                    timeout=realtime_settings.PUSH_TIMEOUT,
                    follow_redirects=False,
                    trust_env=False,  # an environment proxy would connect for us, to addresses nobody checked
                )
            else:
                self._client = httpx.AsyncClient(
                    verify=self.get_ssl_context(),
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

    async def post(self, url: str, **kwargs: Any) -> httpx.Response | Outcome:
        """POST; a transport failure (refused, reset, timeout) is ``retry``, a refused address or bad URL ``gone``."""
        import httpx

        try:
            return await self.get_client().post(url, **kwargs)
        except TargetRefused as exc:
            return Outcome.gone(str(exc))
        except httpx.InvalidURL as exc:  # a stored address the client cannot read: nothing will ever reach it
            return Outcome.gone(f"Invalid URL: {exc}")
        except httpx.TransportError as exc:
            return Outcome.retry(f"{type(exc).__name__}: {exc}".rstrip(": "))
