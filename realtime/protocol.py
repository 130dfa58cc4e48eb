"""The wire protocol on ``/ws/notifications/``, defined once.

JSON text frames. The client sends ``{"action": ...}`` messages; the server
answers with ``{"type": ...}`` frames, echoing ``request_id``. Live and
replayed changes are Redux actions ``{"type": "UPDATE_FOO", "payload",
"meta"}``. The frontend mirrors these names in
``frontend/src/realtime/protocol.ts``; ``docs/protocol.md`` describes the
whole exchange.
"""

from __future__ import annotations

import json
from typing import Any, Final

# Client actions.
SUBSCRIBE: Final = "subscribe"
UNSUBSCRIBE: Final = "unsubscribe"
PING: Final = "ping"
ACTIONS: Final = (SUBSCRIBE, UNSUBSCRIBE, PING)

# The object type a client subscribes to for its own inbox.
INBOX: Final = "inbox"

# Server frame types (besides the Redux actions of events).
SUBSCRIBED: Final = "subscribed"
UNSUBSCRIBED: Final = "unsubscribed"
PONG: Final = "pong"
ERROR: Final = "error"
#: Several replayed events in one frame: ``{"type": "events", "events": [<event frame>, ...]}``.
EVENTS: Final = "events"
#: Sent before a deliberate close (restart): ``{"type": "reconnect", "after_ms": ..., "spread_ms": ...}``.
RECONNECT: Final = "reconnect"

#: The WebSocket subprotocol a client asks for when it takes ``events`` frames (several replayed events per frame).
SUBPROTOCOL_EVENTS: Final = "realtime.v2"

#: Most events in one ``events`` frame (and roughly the most bytes).
EVENTS_PER_FRAME: Final = 500
EVENTS_FRAME_BYTES: Final = 256 * 1024

# How an object stands to a live list (``meta.membership`` of a list's frames).
MEMBERSHIP_ENTER: Final = "enter"
MEMBERSHIP_UPDATE: Final = "update"
MEMBERSHIP_LEAVE: Final = "leave"
#: Query parameters of a list endpoint that a live list ignores (pagination).
LIST_IGNORED_PARAMS: Final = ("limit", "offset", "page", "page_size", "cursor")

# Why the server ended a subscription on its own (``unsubscribed.reason``).
REASON_DELETED: Final = "deleted"
REASON_REVOKED: Final = "revoked"

# Error codes (``error.code``).
INVALID: Final = "invalid"
NOT_FOUND: Final = "not_found"
NOT_AUTHENTICATED: Final = "not_authenticated"
RATE_LIMITED: Final = "rate_limited"
TOO_MANY_SUBSCRIPTIONS: Final = "too_many_subscriptions"
SERVER_ERROR: Final = "server_error"

# WebSocket close codes (a server may send only 1000 and 3000-4999; the 4xxx ones borrow HTTP's meanings).
CLOSE_NOT_AUTHENTICATED: Final = 4401  # no authenticated user (and anonymous sockets are not allowed)
CLOSE_FORBIDDEN: Final = 4403  # access revoked while connected (deactivated, logged out, token deleted)
CLOSE_TOO_SLOW: Final = 4408  # the client did not read: its send buffer stayed over REALTIME["SEND_BUFFER_BYTES"]
CLOSE_MESSAGE_TOO_BIG: Final = 4413  # a frame larger than REALTIME["MAX_FRAME_BYTES"]
CLOSE_TOO_MANY_SOCKETS: Final = 4429  # the user has REALTIME["MAX_SOCKETS_PER_USER"] sockets open on this process
CLOSE_SERVER_ERROR: Final = 4500  # a bug on the server (logged); reconnect
CLOSE_TRY_AGAIN: Final = 4503  # the server cannot serve sockets right now (channel layer down); reconnect soon

# Redux action verbs.
CREATE: Final = "CREATE"
UPDATE: Final = "UPDATE"
DELETE: Final = "DELETE"
#: An object left a live list (it still exists, the list's user may no longer see it or it stopped matching).
LEAVE: Final = "LEAVE"

# Action type of inbox notifications (a user-facing notification was created).
NOTIFICATION_CREATED: Final = "CREATE_NOTIFICATION"


def action_type(verb: str, object_type: str) -> str:
    """``action_type("UPDATE", "foo") == "UPDATE_FOO"``."""
    return f"{verb}_{object_type}".upper()


def encode(frame: dict[str, Any]) -> str:
    """Encode a frame as compact JSON text (the one encoder for every frame)."""
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False)


def reply(frame_type: str, request_id: str | int | None, **fields: Any) -> dict[str, Any]:
    """A control frame, echoing ``request_id`` when the client sent one."""
    frame: dict[str, Any] = {"type": frame_type}
    if request_id is not None:
        frame["request_id"] = request_id
    frame.update(fields)
    return frame


def error(code: str, message: str, *, request_id: str | int | None = None, errors: Any = None) -> dict[str, Any]:
    """An ``error`` frame; ``errors`` carries DRF serializer errors for ``invalid``."""
    frame = reply(ERROR, request_id, code=code, message=message)
    if errors is not None:
        frame["errors"] = errors
    return frame
