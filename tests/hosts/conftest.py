"""Fixtures for the host-shape tests: real token or session credentials, for REST and WebSocket alike.

Every REST call and every socket of a test authenticates the way a client
of the host would: ``Authorization: Token <key>`` (DRF's own
``TokenAuthentication``, so ``request.auth`` is the token) or a session
cookie, with ``Host: localhost`` (``REALTIME["BASE_URL"]`` of the test
settings) and, for sockets, ``Origin: http://localhost``, through
``project.asgi``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AbstractUser
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from project.asgi import application
from tests.realtime.conftest import close_all

Connect = Callable[..., Awaitable[WebsocketCommunicator]]
#: How the test settings' BASE_URL reaches the API.
HOST = "localhost"


def token_for(user: AbstractUser) -> str:
    return Token.objects.get_or_create(user=user)[0].key


def rest_client(user: AbstractUser, *, session: bool = False, **headers: str) -> APIClient:
    """An API client for ``user``: a real token header (or a real session), ``Host: localhost``, ``headers``."""
    client = APIClient(HTTP_HOST=HOST, **headers)
    if session:
        client.force_login(user)
    else:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client


def session_cookie(user: AbstractUser) -> str:
    """A logged-in session of ``user``: the cookie value a browser would send."""
    client = APIClient()
    client.force_login(user)
    return client.cookies["sessionid"].value


def without_stream(body: dict[str, Any]) -> dict[str, Any]:
    """A REST representation without its REST-only ``stream`` position: what event payloads carry."""
    return {key: value for key, value in body.items() if key != "stream"}


@pytest.fixture
async def connect() -> AsyncIterator[Connect]:
    """Open WebSockets through ``project.asgi``; ``await connect(user, headers={...}, query="...")``.

    The user authenticates with their token header, or with ``session=<cookie>``
    instead; ``headers`` are extra handshake headers. Sockets are closed at teardown.
    """
    opened: list[WebsocketCommunicator] = []

    async def _connect(
        user: AbstractUser | None = None,
        *,
        session: str | None = None,
        headers: dict[str, str] | None = None,
        query: str = "",
        authorization: str | None = None,
    ) -> WebsocketCommunicator:
        sent = [(b"host", HOST.encode()), (b"origin", f"http://{HOST}".encode())]
        if user is not None:
            authorization = f"Token {await sync_to_async(token_for)(user)}"
        if authorization is not None:
            sent.append((b"authorization", authorization.encode()))
        if session is not None:
            sent.append((b"cookie", f"sessionid={session}".encode()))
        sent += [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
        path = "/ws/notifications/" + (f"?{query}" if query else "")
        communicator = WebsocketCommunicator(application, path, headers=sent)
        connected, _ = await communicator.connect()
        assert connected, "the handshake was refused"
        opened.append(communicator)
        return communicator

    yield _connect
    await close_all(opened)


async def request(ws: WebsocketCommunicator, message: dict[str, Any], *, until: str = "subscribed") -> list[dict]:
    """Send ``message``; every frame up to its reply (``until``, or an ``error``)."""
    await ws.send_json_to(message)
    frames = []
    while True:
        frame = await ws.receive_json_from(timeout=5)
        frames.append(frame)
        if frame["type"] in {until, "error"}:
            return frames


async def subscribe(ws: WebsocketCommunicator, object_type: str, public_id: Any, **fields: Any) -> list[dict]:
    """Subscribe to ``<object_type>.<public_id>``: the replayed events, then ``subscribed`` (or ``error``)."""
    return await request(ws, {"action": "subscribe", "object_type": object_type, "id": str(public_id), **fields})


async def next_event(ws: WebsocketCommunicator) -> dict[str, Any]:
    return await ws.receive_json_from(timeout=5)
