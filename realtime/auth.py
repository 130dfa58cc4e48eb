"""WebSocket handshake authentication: the session cookie, the REST API's own header authentication, a ticket.

``RealtimeAuthMiddlewareStack`` is Channels' ``AuthMiddlewareStack`` with
three differences. Its session middleware loads the session without wrapping
``send``: Channels' wrapper saves sessions on ``http.response.start`` only,
so on a WebSocket it does nothing but cost a coroutine hop on every frame
sent (about a tenth of a frame's cost in the fan-out profile). Its user
middleware (``SessionUserMiddleware``) finds the session's user as Channels'
``AuthMiddleware`` does, but off the shared database thread (below). And
``RealtimeAuthMiddleware`` follows it: when the session gave no user it
tries, in order, the handshake's ``Authorization`` header, checked by the
REST API's own authentication classes (``REST_FRAMEWORK
["DEFAULT_AUTHENTICATION_CLASSES"]``: a DRF token, a JWT, whatever the
project uses; the same code as REST), and a one-time ``?ticket=`` from
``POST /api/realtime/ticket``. Invalid credentials leave the user anonymous;
the consumer then refuses the socket with close code 4401.

Every database lookup of the handshake (the session and its user, the
header's credential, the ticket) runs on the realtime app's database threads
(``realtime.db.run_db``), not on the one thread Channels shares with every
socket of the process; a handshake without a session cookie reads no session.

The scope keeps how the socket authenticated (``realtime_auth``) and the
``request.auth`` value it got (``realtime_credential``), so that permission
checks see the same user and auth as a REST request, and so that the
credential can be checked again when it may have been revoked.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs

from channels.middleware import BaseMiddleware
from channels.sessions import CookieMiddleware
from django.conf import settings
from django.contrib.auth import get_user as get_session_user
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.utils.module_loading import import_string
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.settings import api_settings

from realtime.db import run_db
from realtime.requests import socket_request
from realtime.tickets import ticket_redeem

#: How a socket authenticated (``scope["realtime_auth"]``), so its credential can be checked again later.
SESSION, HEADER, TICKET = "session", "header", "ticket"
#: Older name of ``HEADER`` (a DRF token header).
TOKEN = HEADER


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin1")
    return None


def header_credentials(scope: dict[str, Any]) -> tuple[AbstractBaseUser | None, Any]:
    """``(user, auth)`` from the handshake's ``Authorization`` header, by the REST API's authentication classes.

    Session authentication is left out: the session is the cookie's, read
    separately. ``(None, None)`` when no class accepts the header.
    """
    classes = [cls for cls in api_settings.DEFAULT_AUTHENTICATION_CLASSES if not issubclass(cls, SessionAuthentication)]
    anonymous = socket_request(scope=scope, user=AnonymousUser())
    request = Request(anonymous._request, authenticators=[cls() for cls in classes])
    try:
        user, auth = request.user, request.auth
    except APIException:
        return None, None
    if user is None or not user.is_authenticated:
        return None, None
    return user, auth


class RealtimeAuthMiddleware(BaseMiddleware):
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        user = scope.get("user")
        if user is not None and user.is_authenticated:
            scope = dict(scope, realtime_auth=SESSION, realtime_credential=None)
        else:
            method, found, credential = await self.authenticate(scope)
            if found is not None:
                scope = dict(scope, user=found, realtime_auth=method, realtime_credential=credential)
        return await super().__call__(scope, receive, send)

    async def authenticate(self, scope: dict[str, Any]) -> tuple[str | None, AbstractBaseUser | None, Any]:
        if _header(scope, b"authorization"):
            user, credential = await run_db(header_credentials, scope=scope)
            return HEADER, user, credential
        tickets = parse_qs(scope.get("query_string", b"").decode("latin1")).get("ticket")
        if tickets:
            return TICKET, await run_db(ticket_redeem, key=tickets[0]), None
        return None, None, None


def scope_credentials(scope: dict[str, Any]) -> tuple[AbstractBaseUser | AnonymousUser, Any]:
    """The socket's user and ``request.auth`` as of now, by the credential it connected with (queries the database).

    The session must still exist and carry the user's current auth hash
    (logout and password changes end it), the header must still
    authenticate (a deleted token does not), and the user must still be
    active; otherwise the user is anonymous. A ticket was used up at the
    handshake, so only the user is re-read.
    """
    user = scope.get("user")
    if user is None or not user.is_authenticated:
        return AnonymousUser(), None
    method = scope.get("realtime_auth")
    credential = None
    if method == SESSION:
        store = import_string(f"{settings.SESSION_ENGINE}.SessionStore")
        found = session_user(session=store(scope["cookies"].get(settings.SESSION_COOKIE_NAME)))
    elif method == HEADER:
        found, credential = header_credentials(scope)
    else:
        found = get_user_model()._default_manager.filter(pk=user.pk).first()
    if found is None or not found.is_authenticated or not found.is_active or found.pk != user.pk:
        return AnonymousUser(), None
    return found, credential


def scope_user(scope: dict[str, Any]) -> AbstractBaseUser | AnonymousUser:
    """The socket's user as of now (see ``scope_credentials``)."""
    return scope_credentials(scope)[0]


def scope_request(scope: dict[str, Any]) -> Request:
    """A request for the socket as of now: its handshake, with its user and auth re-checked (``scope_credentials``)."""
    user, credential = scope_credentials(scope)
    return socket_request(scope=scope, user=user, auth=credential)


class WebSocketSessionMiddleware(BaseMiddleware):
    """Put the handshake's Django session (lazily loaded) into ``scope["session"]``; read-only."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if "session" not in scope:
            store = import_string(f"{settings.SESSION_ENGINE}.SessionStore")
            scope = dict(scope, session=store(scope["cookies"].get(settings.SESSION_COOKIE_NAME)))
        return await super().__call__(scope, receive, send)


def session_user(*, session: Any) -> AbstractBaseUser | AnonymousUser:
    """The user a Django session is logged in as (its auth hash checked, as ``django.contrib.auth.get_user``)."""
    return get_session_user(SimpleNamespace(session=session))


class SessionUserMiddleware(BaseMiddleware):
    """``scope["user"]`` from the handshake's session, as Channels' ``AuthMiddleware`` does, off the shared thread.

    Without a session cookie the session is empty, so the user is anonymous
    without a database query.
    """

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if "user" not in scope:
            user: AbstractBaseUser | AnonymousUser = AnonymousUser()
            if scope["cookies"].get(settings.SESSION_COOKIE_NAME):
                user = await run_db(session_user, session=scope["session"])
            scope = dict(scope, user=user)
        return await super().__call__(scope, receive, send)


def RealtimeAuthMiddlewareStack(inner: Any) -> Any:
    """Cookies → session → session user → token header or ticket → ``inner``."""
    return CookieMiddleware(WebSocketSessionMiddleware(SessionUserMiddleware(RealtimeAuthMiddleware(inner))))
