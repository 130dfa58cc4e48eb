"""WebSocket routes on a real daphne: an unknown path is refused at the handshake (403), never a 500."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import websockets
from asgiref.sync import sync_to_async
from rest_framework.authtoken.models import Token
from websockets.asyncio.client import connect

from tests.servers import DaphneServer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server(transactional_db: None, tmp_path: Path) -> Iterator[DaphneServer]:
    daphne = DaphneServer(log_dir=tmp_path).start()
    yield daphne
    daphne.stop()


async def test_unknown_paths_are_refused_with_403(server, alice):
    """Authenticated handshakes for paths no route serves get HTTP 403 and leave no traceback in the log."""
    token = await sync_to_async(lambda: Token.objects.create(user=alice).key)()
    for path in ("/ws/unknown/", "/ws/notifications/extra/", "/ws/notifications", "/", "/api/foo/"):
        with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
            await connect(
                f"ws://127.0.0.1:{server.port}{path}",
                origin=server.url,
                additional_headers={"Authorization": f"Token {token}"},
                open_timeout=10,
            )
        assert refused.value.response.status_code == 403, path
    # The endpoint itself still works on the same process.
    async with connect(server.ws_url, origin=server.url, additional_headers={"Authorization": f"Token {token}"}) as ws:
        await ws.send(json.dumps({"action": "ping", "request_id": "p"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "pong"
    assert "Traceback" not in server.output()
