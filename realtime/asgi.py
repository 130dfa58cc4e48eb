"""The WebSocket side of a project's ASGI application, in one call.

``project/asgi.py`` of a host project::

    from django.core.asgi import get_asgi_application

    django_application = get_asgi_application()

    from channels.routing import ProtocolTypeRouter
    from realtime.asgi import websocket_application

    application = ProtocolTypeRouter({"http": django_application, "websocket": websocket_application()})

``/ws/notifications/`` (and any ``routes`` of the project's own) sits behind
the full-origin check (``realtime.origins``), the admission gate that sheds
handshakes while the process is busy admitting others
(``realtime.admission``), and the handshake authentication
(``realtime.auth``); a handshake for any other path is
refused (HTTP 403) before either runs, so it costs nothing and uses up no
ticket.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from channels.routing import URLRouter
from django.urls import URLPattern

from realtime.admission import AdmissionMiddleware
from realtime.auth import RealtimeAuthMiddlewareStack
from realtime.origins import OriginValidator
from realtime.routing import websocket_fallback_urlpatterns, websocket_urlpatterns


def _protected(pattern: URLPattern) -> URLPattern:
    application = OriginValidator(AdmissionMiddleware(RealtimeAuthMiddlewareStack(pattern.callback)))
    return URLPattern(pattern.pattern, application, pattern.default_args, pattern.name)


def websocket_application(*, routes: Sequence[URLPattern] = ()) -> Any:
    """``/ws/notifications/`` and ``routes``, each origin-checked and authenticated; other paths refused."""
    return URLRouter([*(_protected(p) for p in (*websocket_urlpatterns, *routes)), *websocket_fallback_urlpatterns])
