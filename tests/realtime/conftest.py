"""Fixtures for realtime tests: WebSocket clients on the real ASGI stack, and a shared Foo."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework.authtoken.models import Token

from api.models import Foo
from project.asgi import application
from realtime.ids import encode_id

Connect = Callable[..., Awaitable[WebsocketCommunicator]]


@pytest.fixture
async def connect() -> AsyncIterator[Connect]:
    """Open WebSockets through the whole ASGI stack (origin check, auth middleware, router).

    ``await connect(user)`` authenticates with the user's DRF token header;
    ``connect(None)`` connects anonymously. Sockets are closed at teardown.
    """
    opened: list[WebsocketCommunicator] = []

    async def _connect(
        user: Any = None, *, origin: bytes = b"http://localhost", query: str = "", expect: bool = True
    ) -> WebsocketCommunicator:
        headers = [(b"host", b"localhost"), *([(b"origin", origin)] if origin else [])]
        if user is not None:
            token, _ = await sync_to_async(Token.objects.get_or_create)(user=user)
            headers.append((b"authorization", f"Token {token.key}".encode()))
        path = "/ws/notifications/" + (f"?{query}" if query else "")
        communicator = WebsocketCommunicator(application, path, headers=headers)
        connected, _ = await communicator.connect()
        assert connected is expect, "handshake outcome"
        opened.append(communicator)
        return communicator

    yield _connect
    for communicator in opened:
        await communicator.disconnect()


async def receive_until(communicator: WebsocketCommunicator, frame_type: str, wait: float = 3) -> list[dict]:
    """Every frame up to and including the first of ``frame_type`` (each within ``wait`` seconds)."""
    frames = []
    while True:
        frame = await communicator.receive_json_from(timeout=wait)
        frames.append(frame)
        if frame["type"] == frame_type:
            return frames


async def subscribe(communicator: WebsocketCommunicator, foo: Foo | None = None, **fields: Any) -> list[dict]:
    """Subscribe to ``foo`` (or the inbox) and return the replayed frames followed by ``subscribed``."""
    message = {"action": "subscribe", "object_type": "inbox"}
    if foo is not None:
        message = {"action": "subscribe", "object_type": "foo", "id": encode_id(foo.pk)}
    await communicator.send_json_to({**message, **fields})
    frames = await receive_until(communicator, "subscribed")
    return frames


@pytest.fixture
def foo(alice, bob) -> Foo:
    """A Foo owned by alice and shared with bob (seq 1: created, seq 2: bob added)."""
    obj = Foo.objects.create(owner=alice, name="first", bar="one")
    obj.members.add(bob)
    return obj
