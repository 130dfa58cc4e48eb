"""What is pushed for a notification: its event frame, shrunk to fit a provider's size limit.

Every backend pushes the frame a WebSocket client would get for the
notification (``CREATE_NOTIFICATION`` with title, body, icon,
``client_action`` and ``data``), so a service worker, an app or a webhook
consumer can dispatch it like a live event. Providers cap payloads (Web
Push and APNs at 4 KB): ``message_fit`` drops ``payload.data`` first, then
shortens ``payload.body``, and marks the frame ``"truncated": true`` so the
client fetches the full notification over REST.
"""

from __future__ import annotations

import copy
from typing import Any

from realtime import protocol
from realtime.frames import event_frame
from realtime.models import Notification


def push_message(notification: Notification) -> dict[str, Any]:
    """The frame to push; ``notification.stream`` must be loaded."""
    return event_frame(notification)


def encoded_size(message: dict[str, Any]) -> int:
    return len(protocol.encode(message).encode())


def message_fit(message: dict[str, Any], *, limit: int) -> dict[str, Any]:
    """``message``, or a smaller copy whose JSON encoding is at most ``limit`` bytes."""
    if encoded_size(message) <= limit:
        return message
    fitted = copy.deepcopy(message)
    payload = fitted.get("payload", {})
    fitted["truncated"] = True
    payload["data"] = {}
    body = payload.get("body") or ""
    while encoded_size(fitted) > limit and body:
        body = body[: len(body) // 2]
        payload["body"] = body + "…" if body else ""
    if encoded_size(fitted) > limit:
        payload["title"] = payload.get("title", "")[:100]
    return fitted
