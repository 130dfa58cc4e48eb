"""Push backends by device kind: ``get_backends()`` builds one of each for a worker.

``BACKENDS`` maps a device kind to its class, or to the dotted path of its
class, imported on first use: importing this package imports no provider
module and none of their optional packages (httpx, pywebpush, PyJWT, h2),
so a project's test discovery can import it without the ``[push]`` extra.
A project adds or replaces a backend by subclassing ``PushBackend`` and
assigning it here (e.g. in its app's ``ready()``).
"""

from __future__ import annotations

from django.utils.module_loading import import_string

from realtime.push.backends.base import Outcome, PushBackend, PushRequest, Result

BACKENDS: dict[str, str | type[PushBackend]] = {
    "webpush": "realtime.push.backends.webpush.WebPushBackend",
    "fcm": "realtime.push.backends.fcm.FcmBackend",
    "apns": "realtime.push.backends.apns.ApnsBackend",
    "webhook": "realtime.push.backends.webhook.WebhookBackend",
}


def get_backend_class(kind: str) -> type[PushBackend]:
    """The backend class for ``kind`` (``KeyError`` for an unknown kind)."""
    backend = BACKENDS[kind]
    return import_string(backend) if isinstance(backend, str) else backend


def get_backends() -> dict[str, PushBackend]:
    """A fresh backend per kind (each with its own HTTP client), as one worker uses them."""
    return {kind: get_backend_class(kind)() for kind in BACKENDS}


__all__ = ["BACKENDS", "Outcome", "PushBackend", "PushRequest", "Result", "get_backend_class", "get_backends"]
