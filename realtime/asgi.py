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

Building it also freezes the objects loaded at start-up out of the garbage
collector's full collections (``REALTIME["GC_FREEZE"]``, on by default;
``freeze_startup_objects``): a process holding many sockets otherwise pauses
its event loop for every full collection, for as long as walking every
module, class and settings object it ever loaded takes.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Sequence
from typing import Any

from channels.routing import URLRouter
from django.urls import URLPattern

from realtime.admission import AdmissionMiddleware
from realtime.auth import RealtimeAuthMiddlewareStack
from realtime.conf import realtime_settings
from realtime.origins import OriginValidator
from realtime.routing import websocket_fallback_urlpatterns, websocket_urlpatterns

logger = logging.getLogger(__name__)

#: Whether this process has frozen its start-up objects already.
_frozen = False


def _protected(pattern: URLPattern) -> URLPattern:
    application = OriginValidator(AdmissionMiddleware(RealtimeAuthMiddlewareStack(pattern.callback)))
    return URLPattern(pattern.pattern, application, pattern.default_args, pattern.name)


def freeze_startup_objects() -> bool:
    """Collect garbage, then freeze every object alive now (``gc.freeze()``); once per process. Whether it froze."""
    global _frozen
    if _frozen:
        return False
    _frozen = True
    gc.collect()
    gc.freeze()
    logger.debug("Froze %d start-up objects out of the garbage collector's full collections.", gc.get_freeze_count())
    return True


def websocket_application(*, routes: Sequence[URLPattern] = ()) -> Any:
    """``/ws/notifications/`` and ``routes``, each origin-checked and authenticated; other paths refused."""
    if realtime_settings.GC_FREEZE:
        freeze_startup_objects()
    return URLRouter([*(_protected(p) for p in (*websocket_urlpatterns, *routes)), *websocket_fallback_urlpatterns])
