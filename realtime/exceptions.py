"""Client-facing errors of the WebSocket protocol, and their error frames.

Every client mistake becomes exactly one ``error`` frame with a code from
``realtime.protocol``; the socket stays open.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, status

from realtime import protocol


class TooManySubscriptions(exceptions.APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = "This connection has too many subscriptions; unsubscribe from some first."
    default_code = protocol.TOO_MANY_SUBSCRIPTIONS


class RateLimited(exceptions.APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = "Too many messages; slow down."
    default_code = protocol.RATE_LIMITED


_CODES: list[tuple[type[exceptions.APIException], str]] = [
    (exceptions.ValidationError, protocol.INVALID),
    (exceptions.ParseError, protocol.INVALID),
    (exceptions.NotFound, protocol.NOT_FOUND),
    (exceptions.NotAuthenticated, protocol.NOT_AUTHENTICATED),
    (TooManySubscriptions, protocol.TOO_MANY_SUBSCRIPTIONS),
    (RateLimited, protocol.RATE_LIMITED),
]

_MESSAGES = {
    protocol.INVALID: "The message is not valid.",
    protocol.NOT_FOUND: "No such object, or you may not see it.",
}


def error_frame(exc: exceptions.APIException, *, request_id: str | int | None) -> dict[str, Any]:
    """The ``error`` frame for a DRF exception raised while handling a client message."""
    code = next((code for kind, code in _CODES if isinstance(exc, kind)), protocol.NOT_FOUND)
    if isinstance(exc, exceptions.ValidationError):
        return protocol.error(code, _MESSAGES[code], request_id=request_id, errors=exc.detail)
    message = _MESSAGES.get(code) or str(exc.detail)
    return protocol.error(code, message, request_id=request_id)
