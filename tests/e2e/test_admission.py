"""On real daphne: a crowd of handshakes beyond the admission limit is shed with a time to come back, and all get in."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random

import httpx
import pytest
from asgiref.sync import sync_to_async
from websockets.exceptions import ConnectionClosed

from api.models import Foo
from realtime import protocol
from realtime.ids import encode_id
from tests.e2e.clients import api_token, open_socket, receive_frame

pytestmark = pytest.mark.django_db(transaction=True)

CLIENTS = 100


async def shed_count(server, token: str) -> float:
    async with httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as http:
        text = (await http.get("/metrics")).text
    lines = [line for line in text.splitlines() if line.startswith("realtime_handshakes_shed_total")]
    return float(lines[0].split()[-1])


async def test_a_crowd_beyond_the_limit_is_shed_and_comes_back_at_the_given_times(daphne, alice):
    """100 clients at once on a limit of 1, no waiting: the shed get ``reconnect`` + 4503, follow it; all subscribe."""
    server = await sync_to_async(daphne)(
        env={
            "REALTIME_ADMISSION_LIMIT": "1",
            "REALTIME_ADMISSION_WAIT": "0",
            "REALTIME_MAX_SOCKETS_PER_USER": "0",
            "REALTIME_USER_RATE_BURST": "10000",
            "REALTIME_METRICS_TOKEN": "metrics-secret",
        }
    )
    foo = await sync_to_async(Foo.objects.create)(owner=alice, name="crowd")
    token = await api_token(alice)
    subscribe = json.dumps({"action": "subscribe", "request_id": "s", "object_type": "foo", "id": encode_id(foo.pk)})
    told: list[tuple[int, int]] = []

    async def client() -> object:
        for _ in range(50):
            socket = await open_socket(server, token)
            async with socket:
                with contextlib.suppress(ConnectionClosed):
                    await socket.send(subscribe)  # a shed socket may be closed already; its frame is still read
                frame = await receive_frame(socket)
                if frame["type"] == protocol.SUBSCRIBED:
                    return socket.close_code
                assert frame["type"] == protocol.RECONNECT, frame
                told.append((frame["after_ms"], frame["spread_ms"]))
                with pytest.raises(ConnectionClosed):
                    await receive_frame(socket, 5)
                assert socket.close_code == protocol.CLOSE_TRY_AGAIN
            await asyncio.sleep((frame["after_ms"] + random.random() * frame["spread_ms"]) / 1000)
        raise AssertionError("not admitted after 50 attempts")

    outcomes = await asyncio.wait_for(asyncio.gather(*(client() for _ in range(CLIENTS))), 120)
    assert outcomes == [None] * CLIENTS  # every client subscribed, on an open socket
    assert told, "with a limit of 1, a crowd of 100 has some handshakes shed"
    assert all(after >= 0 and spread >= 250 for after, spread in told)
    assert await shed_count(server, "metrics-secret") == len(told)
