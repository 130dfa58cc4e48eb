"""Clients for end-to-end tests: real server processes, reached with a real WebSocket client and HTTP client."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from asgiref.sync import sync_to_async
from django.db import connection
from rest_framework.authtoken.models import Token
from websockets.asyncio.client import ClientConnection, connect

from tests.servers import DaphneServer


async def api_token(user: Any) -> str:
    token, _ = await sync_to_async(Token.objects.get_or_create)(user=user)
    return token.key


@sync_to_async
def release_db_connection() -> None:
    """Close the async ORM thread's connection, so teardown can drop the test database."""
    connection.close()


async def open_socket(server: DaphneServer, token: str) -> ClientConnection:
    """A WebSocket to ``server`` authenticated by a DRF token, with the Origin a non-browser client sends."""
    return await connect(
        server.ws_url,
        origin=f"http://127.0.0.1:{server.port}",
        additional_headers={"Authorization": f"Token {token}"},
        open_timeout=30,
    )


async def receive_frame(socket: ClientConnection, seconds: float = 10) -> dict[str, Any]:
    """The next frame, decoded (``TimeoutError`` after ``seconds``)."""
    async with asyncio.timeout(seconds):
        return json.loads(await socket.recv())


def api(server: DaphneServer, token: str) -> httpx.AsyncClient:
    """An HTTP client for ``server``'s REST API, authenticated by a DRF token."""
    return httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Token {token}"}, timeout=30)
