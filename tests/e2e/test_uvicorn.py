"""Uvicorn, the alternative ASGI server, serves the same application: health, REST and live events."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
from asgiref.sync import sync_to_async

from api.models import Foo
from realtime.ids import encode_id
from tests.e2e.clients import api, api_token, open_socket, receive_frame, release_db_connection
from tests.servers import DaphneServer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def uvicorn_server() -> Iterator[DaphneServer]:
    server = DaphneServer(command=[sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", "{port}"])
    try:
        yield server.start()
    finally:
        server.stop()


async def test_uvicorn_serves_rest_websocket_and_health(uvicorn_server, alice):
    """A REST change made through uvicorn reaches a WebSocket subscriber on it, after its replayed history."""
    foo = await sync_to_async(Foo.objects.create)(owner=alice, name="on uvicorn")
    token = await api_token(alice)
    await release_db_connection()
    async with api(uvicorn_server, token) as client:
        assert (await client.get("/healthz")).status_code == 200
        socket = await open_socket(uvicorn_server, token)
        await socket.send(f'{{"action": "subscribe", "object_type": "foo", "id": "{encode_id(foo.pk)}", "since": 0}}')
        assert [(await receive_frame(socket))["type"] for _ in range(2)] == ["CREATE_FOO", "subscribed"]
        response = await client.patch(f"/api/foo/{encode_id(foo.pk)}", json={"name": "renamed"})
        assert response.status_code == 200
        frame = await receive_frame(socket)
        assert (frame["type"], frame["payload"]["name"], frame["meta"]["seq"]) == ("UPDATE_FOO", "renamed", 2)
        await socket.close()
