"""WebSocket handshake authentication: session cookie, DRF token header, one-time ticket.

``RealtimeAuthMiddlewareStack`` is Channels' ``AuthMiddlewareStack`` with
two differences. Its session middleware loads the session without wrapping
``send``: Channels' wrapper saves sessions on ``http.response.start`` only,
so on a WebSocket it does nothing but cost a coroutine hop on every frame
sent (about a tenth of a frame's cost in the fan-out profile). And
``RealtimeAuthMiddleware`` follows it: when the session gave no user it
tries, in order, an ``Authorization: Token
<key>`` header (checked by DRF's own ``TokenAuthentication``, the same code
as REST) and a one-time ``?ticket=`` from ``POST /api/realtime/ticket``.
Invalid credentials leave the user anonymous; the consumer then refuses the
socket with close code 4401.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs

from channels.auth import AuthMiddleware
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.sessions import CookieMiddleware
from django.conf import settings
from django.contrib.auth import get_user as get_session_user
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.utils.module_loading import import_string
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from realtime.tickets import ticket_redeem

#: How a socket authenticated (``scope["realtime_auth"]``), so its credential can be checked again later.
SESSION, TOKEN, TICKET = "session", "token", "ticket"


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin1")
    return None


def token_user(header: str) -> AbstractBaseUser | None:
    """The user of an ``Authorization: Token <key>`` header, via DRF's ``TokenAuthentication``."""
    authentication = TokenAuthentication()
    parts = header.split()
    if len(parts) != 2 or parts[0].lower() != authentication.keyword.lower():
        return None
    try:
        user, _ = authentication.authenticate_credentials(parts[1])
    except AuthenticationFailed:
        return None
    return user


class RealtimeAuthMiddleware(BaseMiddleware):
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        user = scope.get("user")
        if user is not None and user.is_authenticated:
            scope = dict(scope, realtime_auth=SESSION)
        else:
            method, found = await self.authenticate(scope)
            if found is not None:
                scope = dict(scope, user=found, realtime_auth=method)
        return await super().__call__(scope, receive, send)

    async def authenticate(self, scope: dict[str, Any]) -> tuple[str | None, AbstractBaseUser | None]:
        header = _header(scope, b"authorization")
        if header:
            return TOKEN, await database_sync_to_async(token_user)(header)
        tickets = parse_qs(scope.get("query_string", b"").decode("latin1")).get("ticket")
        if tickets:
            return TICKET, await database_sync_to_async(ticket_redeem)(key=tickets[0])
        return None, None


def scope_user(scope: dict[str, Any]) -> AbstractBaseUser | AnonymousUser:
    """The socket's user as of now, by the credential it connected with (synchronous; queries the database).

    The session must still exist and carry the user's current auth hash
    (logout and password changes end it), the token must still exist, and
    the user must still be active; otherwise the user is anonymous. A ticket
    was used up at the handshake, so only the user is re-read.
    """
    user = scope.get("user")
    if user is None or not user.is_authenticated:
        return AnonymousUser()
    method = scope.get("realtime_auth")
    if method == SESSION:
        store = import_string(f"{settings.SESSION_ENGINE}.SessionStore")
        found = get_session_user(SimpleNamespace(session=store(scope["cookies"].get(settings.SESSION_COOKIE_NAME))))
    elif method == TOKEN:
        found = token_user(_header(scope, b"authorization") or "")
    else:
        found = get_user_model()._default_manager.filter(pk=user.pk).first()
    if found is None or not found.is_authenticated or not found.is_active or found.pk != user.pk:
        return AnonymousUser()
    return found


class WebSocketSessionMiddleware(BaseMiddleware):
    """Put the handshake's Django session (lazily loaded) into ``scope["session"]``; read-only."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if "session" not in scope:
            store = import_string(f"{settings.SESSION_ENGINE}.SessionStore")
            scope = dict(scope, session=store(scope["cookies"].get(settings.SESSION_COOKIE_NAME)))
        return await super().__call__(scope, receive, send)


def RealtimeAuthMiddlewareStack(inner: Any) -> Any:
    """Cookies → session → session user → token header or ticket → ``inner``."""
    return CookieMiddleware(WebSocketSessionMiddleware(AuthMiddleware(RealtimeAuthMiddleware(inner))))
