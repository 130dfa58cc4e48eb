"""WebSocket handshake authentication: session cookie, DRF token header, one-time tickets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone

from project.asgi import application
from realtime import protocol
from realtime.auth import header_credentials
from realtime.db import shutdown_pool
from realtime.models import Ticket
from realtime.tickets import ticket_issue, ticket_redeem

pytestmark = pytest.mark.django_db(transaction=True)


async def open_socket(*headers: tuple[bytes, bytes], query: str = "") -> WebsocketCommunicator:
    ws = WebsocketCommunicator(
        application,
        f"/ws/notifications/{query}",
        headers=[(b"host", b"localhost"), (b"origin", b"http://localhost"), *headers],
    )
    connected, _ = await ws.connect()
    assert connected
    return ws


async def is_authenticated(ws: WebsocketCommunicator) -> bool:
    """A socket is authenticated when it answers ping instead of closing with 4401."""
    await ws.send_json_to({"action": "ping"})
    output = await ws.receive_output()
    await ws.disconnect()
    if output["type"] == "websocket.close":
        assert output["code"] == protocol.CLOSE_NOT_AUTHENTICATED
        return False
    return True


async def test_session_cookie_authenticates(alice):
    """A browser's Django session cookie authenticates the handshake."""
    client = Client()
    await sync_to_async(client.force_login)(alice)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    assert await is_authenticated(await open_socket((b"cookie", cookie)))


async def test_token_header_authenticates(alice):
    """`Authorization: Token <key>` authenticates, checked by DRF's TokenAuthentication."""
    from rest_framework.authtoken.models import Token

    token = await sync_to_async(Token.objects.create)(user=alice)
    assert await is_authenticated(await open_socket((b"authorization", f"Token {token.key}".encode())))
    assert not await is_authenticated(await open_socket((b"authorization", b"Token nope")))
    assert not await is_authenticated(await open_socket((b"authorization", f"Bearer {token.key}".encode())))


async def test_ticket_works_once(alice, client_for):
    """A ticket from POST /api/realtime/ticket authenticates exactly one handshake."""
    response = await sync_to_async(client_for(alice).post)("/api/realtime/ticket")
    assert response.status_code == 201
    ticket = response.json()["ticket"]
    assert response.json()["expires_in"] == 30
    assert await is_authenticated(await open_socket(query=f"?ticket={ticket}"))
    assert not await is_authenticated(await open_socket(query=f"?ticket={ticket}"))


async def test_unknown_and_expired_tickets_are_refused(alice):
    """Expired or made-up tickets leave the socket anonymous."""
    ticket = await sync_to_async(ticket_issue)(user=alice)
    await sync_to_async(Ticket.objects.update)(expires_at=timezone.now() - timedelta(seconds=1))
    assert not await is_authenticated(await open_socket(query=f"?ticket={ticket}"))
    assert not await is_authenticated(await open_socket(query="?ticket=made-up"))


def test_ticket_of_an_inactive_user_is_refused(alice):
    """Deactivating a user invalidates their outstanding tickets."""
    ticket = ticket_issue(user=alice)
    alice.is_active = False
    alice.save()
    assert ticket_redeem(key=ticket) is None


def test_only_a_hash_of_the_ticket_is_stored(alice):
    """The database never holds a usable ticket."""
    ticket = ticket_issue(user=alice)
    assert not Ticket.objects.filter(key_hash=ticket).exists()
    assert ticket_redeem(key=ticket) == alice


def test_ticket_endpoint_needs_a_user(api_client):
    """Anonymous clients cannot mint tickets."""
    assert api_client.post("/api/realtime/ticket").status_code == 401


def test_malformed_authorization_headers_authenticate_nobody(alice):
    """Malformed Authorization headers authenticate nobody (the REST API's own classes decide)."""
    for header in ("", "Token", "Token a b", "Basic abc", "Bearer x"):
        scope = {"type": "websocket", "path": "/ws/notifications/", "headers": [(b"authorization", header.encode())]}
        assert header_credentials(scope) == (None, None)


async def test_logout_closes_the_sessions_sockets(alice):
    """Logging out (from any request) closes the WebSockets that authenticated with that session."""
    client = Client()
    await sync_to_async(client.force_login)(alice)
    ws = await open_socket((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    await ws.send_json_to({"action": "ping"})
    assert (await ws.receive_json_from())["type"] == "pong"
    await sync_to_async(client.logout)()
    assert await ws.receive_output(timeout=3) == {"type": "websocket.close", "code": protocol.CLOSE_FORBIDDEN}
    await ws.disconnect()


async def test_deleting_the_token_closes_its_sockets(alice, bob):
    """Deleting a DRF token closes the sockets that authenticated with it, not the user's others."""
    from rest_framework.authtoken.models import Token

    token = await sync_to_async(Token.objects.create)(user=alice)
    by_token = await open_socket((b"authorization", f"Token {token.key}".encode()))
    client = Client()
    await sync_to_async(client.force_login)(alice)
    by_session = await open_socket((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    await sync_to_async(token.delete)()
    assert await by_token.receive_output(timeout=3) == {"type": "websocket.close", "code": protocol.CLOSE_FORBIDDEN}
    await by_session.send_json_to({"action": "ping"})
    assert (await by_session.receive_json_from())["type"] == "pong"
    await by_token.disconnect()
    await by_session.disconnect()


def test_scope_user_rechecks_the_credential(alice):
    """scope_user answers anonymous once the session is gone, the token deleted or the user deactivated."""
    from django.contrib.sessions.backends.db import SessionStore
    from rest_framework.authtoken.models import Token

    from realtime.auth import SESSION, TICKET, TOKEN, scope_user

    client = Client()
    client.force_login(alice)
    key = client.cookies["sessionid"].value
    session_scope = {"user": alice, "realtime_auth": SESSION, "cookies": {"sessionid": key}}
    assert scope_user(session_scope) == alice
    SessionStore(key).delete()
    assert not scope_user(session_scope).is_authenticated

    token = Token.objects.create(user=alice)
    token_scope = {
        "user": alice,
        "realtime_auth": TOKEN,
        "headers": [(b"authorization", f"Token {token.key}".encode())],
    }
    assert scope_user(token_scope) == alice
    token.delete()
    assert not scope_user(token_scope).is_authenticated

    ticket_scope = {"user": alice, "realtime_auth": TICKET}
    assert scope_user(ticket_scope) == alice
    alice.is_active = False
    alice.save()
    assert not scope_user(ticket_scope).is_authenticated


async def test_handshake_lookups_run_on_the_realtime_database_threads(alice, settings):
    """A token handshake's queries run on realtime.db's pool, not Channels' one shared thread; no cookie: no session."""
    import threading

    from django.db.backends.signals import connection_created
    from rest_framework.authtoken.models import Token

    settings.REALTIME = {**settings.REALTIME, "DB_THREADS": 2}
    token = await sync_to_async(Token.objects.create)(user=alice)
    seen: list[tuple[str, str]] = []

    def record(execute, sql, params, many, context):
        seen.append((threading.current_thread().name, sql))
        return execute(sql, params, many, context)

    def on_connect(sender, connection, **kwargs) -> None:
        connection.execute_wrappers.append(record)

    connection_created.connect(on_connect, dispatch_uid="test-handshake-threads")
    try:
        assert await is_authenticated(await open_socket((b"authorization", f"Token {token.key}".encode())))
    finally:
        connection_created.disconnect(dispatch_uid="test-handshake-threads")
        await sync_to_async(shutdown_pool)()
    assert seen, "the handshake ran no query"
    assert all(thread.startswith("realtime-db") for thread, _ in seen), seen
    assert not any("django_session" in sql for _, sql in seen), seen
