"""Push backends by device kind: ``get_backends()`` builds one of each for a worker.

``BACKENDS`` maps a ``Device.Kind`` to its class; a project adds or replaces
one by subclassing ``PushBackend`` and assigning it here (e.g. in its app's
``ready()``).
"""

from __future__ import annotations

from realtime.push.backends.apns import ApnsBackend
from realtime.push.backends.base import Outcome, PushBackend, Result
from realtime.push.backends.fcm import FcmBackend
from realtime.push.backends.webhook import WebhookBackend
from realtime.push.backends.webpush import WebPushBackend

BACKENDS: dict[str, type[PushBackend]] = {
    WebPushBackend.kind: WebPushBackend,
    FcmBackend.kind: FcmBackend,
    ApnsBackend.kind: ApnsBackend,
    WebhookBackend.kind: WebhookBackend,
}


def get_backend_class(kind: str) -> type[PushBackend]:
    return BACKENDS[kind]


def get_backends() -> dict[str, PushBackend]:
    """A fresh backend per kind (each with its own HTTP client), as one worker uses them."""
    return {kind: cls() for kind, cls in BACKENDS.items()}


__all__ = ["BACKENDS", "Outcome", "PushBackend", "Result", "get_backend_class", "get_backends"]
