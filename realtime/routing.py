"""WebSocket routes of the realtime app, mounted by ``realtime.asgi.websocket_application``.

``websocket_urlpatterns`` is the endpoint; ``websocket_fallback_urlpatterns``
goes last in the outermost ``URLRouter`` and refuses the handshake of any
other path (the server answers HTTP 403), where Channels' router would raise
``ValueError`` and the server would answer 500 with a traceback in its log.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from django.urls import path, re_path

from realtime.consumers import SubscriptionConsumer

logger = logging.getLogger(__name__)


async def unknown_path_refusal(
    scope: dict[str, Any],
    receive: Callable[[], Awaitable[dict[str, Any]]],
    send: Callable[[dict[str, Any]], Awaitable[None]],
) -> None:
    """ASGI app: refuse a WebSocket handshake by closing before accepting (daphne and uvicorn answer 403)."""
    message = await receive()
    if message["type"] == "websocket.connect":
        logger.debug("Refused a WebSocket handshake for unknown path %r.", scope.get("path"))
        await send({"type": "websocket.close"})


websocket_urlpatterns = [
    path("ws/notifications/", SubscriptionConsumer.as_asgi()),
]

websocket_fallback_urlpatterns = [
    re_path(r"^", unknown_path_refusal),
]
