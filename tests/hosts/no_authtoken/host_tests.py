"""The token-less host's own tests: Basic and session handshakes work, a token header is a clean 4401."""

from __future__ import annotations

import base64

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from tests.hosts.hostkit import close_async_connections, handshake, request  # noqa: F401  (an autouse fixture)
from tests.hosts.no_authtoken.asgi import application
from tests.hosts.no_authtoken.shop.models import Order

pytestmark = pytest.mark.django_db(transaction=True)


def basic(username: str, password: str) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", b"Basic " + base64.b64encode(f"{username}:{password}".encode()))]


def customer() -> tuple:
    user = get_user_model().objects.create_user(username="alice", password="pw")
    return user, Order.objects.create(customer=user, item="tea")


def test_the_host_passes_its_checks():
    """``manage.py check`` finds nothing to fix without ``rest_framework.authtoken``."""
    call_command("check", fail_level="WARNING")


@pytest.mark.parametrize(
    "authorization",
    [b"Token 0123456789abcdef0123456789abcdef01234567", b"Bearer x", b"Basic !!notbase64", b"Basic YWxpY2U6d3Jvbmc="],
    ids=["token", "bearer", "malformed-basic", "wrong-password"],
)
async def test_credentials_the_api_does_not_accept_close_with_4401(authorization, caplog):
    """A token header (no TokenAuthentication here), a bearer or bad Basic credentials: 4401, and no error logged."""
    await sync_to_async(customer)()
    ws = await handshake(application, headers=[(b"authorization", authorization)])
    assert await ws.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
    assert not [record for record in caplog.records if record.levelname in {"ERROR", "CRITICAL"}]


async def test_basic_and_session_handshakes_subscribe_and_receive():
    """HTTP Basic (the API's own class) and the session cookie both authenticate a socket that then gets events."""
    user, order = await sync_to_async(customer)()
    browser = Client()
    await sync_to_async(browser.force_login)(user)
    cookie = [(b"cookie", f"sessionid={browser.cookies['sessionid'].value}".encode())]
    sockets = [await handshake(application, headers=basic("alice", "pw")), await handshake(application, headers=cookie)]
    for ws in sockets:
        reply = (await request(ws, {"action": "subscribe", "object_type": "order", "id": str(order.pk)}))[-1]
        assert reply["stream"] == f"order.{order.pk}"
    order.item = "coffee"
    await sync_to_async(order.save)()
    for ws in sockets:
        event = await ws.receive_json_from(timeout=5)
        assert (event["type"], event["payload"]) == ("UPDATE_ORDER", {"id": order.pk, "item": "coffee"})
        await ws.disconnect()


async def test_a_password_change_closes_the_basic_socket():
    """The Basic credential is checked again on a recheck: after a password change it no longer authenticates."""
    user, order = await sync_to_async(customer)()
    ws = await handshake(application, headers=basic("alice", "pw"))
    assert (await request(ws, {"action": "subscribe", "object_type": "order", "id": str(order.pk)}))[-1][
        "type"
    ] == "subscribed"
    user.set_password("new")
    await sync_to_async(user.save)()
    assert await ws.receive_output(timeout=5) == {"type": "websocket.close", "code": 4403}
