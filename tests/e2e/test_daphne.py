"""End to end on real daphne processes: a websockets client, REST changes over HTTP, Redis across processes."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets
from asgiref.sync import sync_to_async
from websockets.asyncio.client import connect

from api.models import Foo
from realtime.ids import encode_id

pytestmark = pytest.mark.django_db(transaction=True)


async def subscribed_socket(server, token: str, foo: Foo):
    ws = await connect(server.ws_url, origin=server.url, additional_headers={"Authorization": f"Token {token}"})
    await ws.send(json.dumps({"action": "subscribe", "request_id": "s", "object_type": "foo", "id": encode_id(foo.pk)}))
    reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert reply["type"] == "subscribed", reply
    return ws, reply


async def patch(server, token: str, foo: Foo, body: dict) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Token {token}"}) as http:
        response = await http.patch(f"/api/foo/{encode_id(foo.pk)}", json=body)
    assert response.status_code == 200, response.text
    return response


async def logged_frame(server, token: str, stream: str, seq: int) -> dict:
    async with httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Token {token}"}) as http:
        page = (await http.get("/api/notifications/", params={"stream": stream, "since": seq - 1, "limit": 1})).json()
    return page["results"][0]


@pytest.fixture
def shared_foo(alice, bob) -> Foo:
    foo = Foo.objects.create(owner=alice, name="e2e", bar="start")
    foo.members.add(bob)
    return foo


async def test_rest_patch_reaches_a_websocket_client(daphne, token_for, alice, bob, shared_foo):
    """Subscribe over a real socket, PATCH over HTTP: the exact logged frame arrives, as text."""
    server = await sync_to_async(daphne)()
    alice_token, bob_token = await sync_to_async(token_for)(alice), await sync_to_async(token_for)(bob)
    ws, subscribed = await subscribed_socket(server, bob_token, shared_foo)
    async with ws:
        response = await patch(server, alice_token, shared_foo, {"bar": "over http"})
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert frame == await logged_frame(server, bob_token, subscribed["stream"], subscribed["seq"] + 1)
        assert frame["type"] == "UPDATE_FOO"
        assert frame["payload"]["bar"] == "over http"
        assert frame["meta"]["seq"] == subscribed["seq"] + 1 == response.json()["stream"]["seq"]


@pytest.mark.redis
async def test_two_processes_share_redis(daphne, token_for, alice, bob, shared_foo):
    """A subscriber on one daphne receives a change made through another daphne."""
    first, second = await sync_to_async(daphne)(), await sync_to_async(daphne)()
    alice_token, bob_token = await sync_to_async(token_for)(alice), await sync_to_async(token_for)(bob)
    on_first, _ = await subscribed_socket(first, bob_token, shared_foo)
    on_second, _ = await subscribed_socket(second, alice_token, shared_foo)
    async with on_first, on_second:
        await patch(second, alice_token, shared_foo, {"name": "from the second process"})
        for ws in (on_first, on_second):
            frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert frame["payload"]["name"] == "from the second process"


async def test_cross_origin_handshake_is_refused_by_daphne(daphne, token_for, alice):
    """A foreign Origin gets HTTP 403 from the real server, before any consumer runs."""
    server = await sync_to_async(daphne)()
    token = await sync_to_async(token_for)(alice)
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        await connect(
            server.ws_url, origin="http://evil.example", additional_headers={"Authorization": f"Token {token}"}
        )
    assert refused.value.response.status_code == 403


@pytest.mark.parametrize("origin", ["http://127.0.0.1:{other}", "https://127.0.0.1", "https://127.0.0.1:{port}"])
async def test_same_host_on_another_port_or_scheme_is_refused_with_a_session(daphne, alice, origin):
    """A page on the same host but another port or scheme cannot open a socket with the user's session cookie."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    def session_key() -> str:
        session = SessionStore()
        session.update(
            {
                SESSION_KEY: str(alice.pk),
                BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
                HASH_SESSION_KEY: alice.get_session_auth_hash(),
            }
        )
        session.create()
        return session.session_key

    server = await sync_to_async(daphne)()
    cookie = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={await sync_to_async(session_key)()}"}
    async with connect(server.ws_url, origin=server.url, additional_headers=cookie) as ws:  # the site itself
        await ws.send(json.dumps({"action": "ping", "request_id": "p"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == {"type": "pong", "request_id": "p"}
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        await connect(
            server.ws_url, origin=origin.format(other=server.port + 1, port=server.port), additional_headers=cookie
        )
    assert refused.value.response.status_code == 403


async def test_anonymous_socket_is_closed_with_4401(daphne):
    """A real client without credentials sees close code 4401."""
    server = await sync_to_async(daphne)()
    async with connect(server.ws_url, origin=server.url) as ws:
        with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd.code == 4401


async def test_garbage_frame_keeps_the_real_socket_open(daphne, token_for, alice):
    """Over a real connection, a malformed frame gets invalid and the socket still answers ping."""
    server = await sync_to_async(daphne)()
    token = await sync_to_async(token_for)(alice)
    async with connect(server.ws_url, origin=server.url, additional_headers={"Authorization": f"Token {token}"}) as ws:
        await ws.send(b"\x00\x01binary")
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["code"] == "invalid"
        await ws.send("{oops")
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["code"] == "invalid"
        await ws.send(json.dumps({"action": "ping", "request_id": 1}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == {"type": "pong", "request_id": 1}


def test_listen_command_prints_what_two_users_receive(daphne, token_for, alice, bob, shared_foo):
    """Two `manage.py listen` clients (owner and member) both print the frame of one REST PATCH."""
    import subprocess
    import sys

    from tests.servers import ROOT

    server = daphne()
    tokens = {"alice": token_for(alice), "bob": token_for(bob)}
    listen = [sys.executable, "manage.py", "listen", "--url", server.ws_url, "foo", encode_id(shared_foo.pk)]
    listeners = {
        name: subprocess.Popen(
            [*listen, "--token", token],
            cwd=ROOT,
            env=server.env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for name, token in tokens.items()
    }
    try:
        for listener in listeners.values():
            assert json.loads(listener.stdout.readline())["type"] == "subscribed"
        response = httpx.patch(
            f"{server.url}/api/foo/{encode_id(shared_foo.pk)}",
            json={"bar": "seen twice"},
            headers={"Authorization": f"Token {tokens['alice']}"},
        )
        assert response.status_code == 200
        for listener in listeners.values():
            frame = json.loads(listener.stdout.readline())
            assert (frame["type"], frame["payload"]["bar"]) == ("UPDATE_FOO", "seen twice")
    finally:
        for listener in listeners.values():
            listener.terminate()
            listener.wait(timeout=10)


async def test_a_stopping_server_says_when_to_come_back(daphne, token_for, alice, shared_foo):
    """SIGTERM to daphne: each socket gets a ``reconnect`` hint, then close 4503, before the process exits."""
    server = await sync_to_async(daphne)()
    token = await sync_to_async(token_for)(alice)
    ws, _ = await subscribed_socket(server, token, shared_foo)
    server.process.terminate()
    hint = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert hint["type"] == "reconnect"
    assert hint["after_ms"] >= 0
    assert hint["spread_ms"] > 0
    with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd.code == 4503


async def test_a_stopping_server_accepts_no_new_sockets_while_it_says_goodbye(daphne, token_for, alice, shared_foo):
    """After SIGTERM, while daphne still waits for a client that does not read, new connections are refused."""
    import socket as sockets

    server = await sync_to_async(daphne)()
    token = await sync_to_async(token_for)(alice)
    ws, _ = await subscribed_socket(server, token, shared_foo)
    # A second client that completes the handshake and then never reads: the goodbye waits for it.
    raw = sockets.create_connection(("127.0.0.1", server.port))
    raw.sendall(
        (
            f"GET /ws/notifications/ HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            f"Origin: http://127.0.0.1:{server.port}\r\nAuthorization: Token {token}\r\n\r\n"
        ).encode()
    )
    assert b" 101 " in raw.recv(4096)
    try:
        server.process.terminate()
        hint = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert hint["type"] == "reconnect"
        assert server.process.poll() is None, "daphne should still be saying goodbye"
        with pytest.raises(ConnectionRefusedError):
            await connect(server.ws_url, origin=f"http://127.0.0.1:{server.port}", open_timeout=5)
    finally:
        raw.close()
