"""WebSocket handshake authentication beyond the session cookie.

``RealtimeAuthMiddleware`` sits inside Channels' ``AuthMiddlewareStack``:
when the session gave no user it tries, in order, an ``Authorization: Token
<key>`` header (checked by DRF's own ``TokenAuthentication``, the same code
as REST) and a one-time ``?ticket=`` from ``POST /api/realtime/ticket``.
Invalid credentials leave the user anonymous; the consumer then refuses the
socket with close code 4401.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.contrib.auth.models import AbstractBaseUser
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from realtime.tickets import ticket_redeem


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
        if user is None or not user.is_authenticated:
            found = await self.authenticate(scope)
            if found is not None:
                scope = dict(scope, user=found)
        return await super().__call__(scope, receive, send)

    async def authenticate(self, scope: dict[str, Any]) -> AbstractBaseUser | None:
        header = _header(scope, b"authorization")
        if header:
            return await database_sync_to_async(token_user)(header)
        tickets = parse_qs(scope.get("query_string", b"").decode("latin1")).get("ticket")
        if tickets:
            return await database_sync_to_async(ticket_redeem)(key=tickets[0])
        return None
