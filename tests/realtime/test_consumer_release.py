"""Whatever ends a socket, ``SubscriptionConsumer`` releases what it registered: watcher entries, quotas, the gauge.

Through the whole ASGI stack (``connect`` of tests/realtime/conftest.py). A
handler crash used to skip ``disconnect()``, leaking the socket's groups,
watcher entries and counters for the life of the process.
"""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from prometheus_client import REGISTRY
from rest_framework.authtoken.models import Token

from project.asgi import application
from realtime import protocol
from realtime.consumers import SubscriptionConsumer
from realtime.quotas import get_user_quotas
from realtime.watcher import get_watcher
from tests.realtime.conftest import subscribe

pytestmark = pytest.mark.django_db(transaction=True)


def open_sockets() -> float:
    return REGISTRY.get_sample_value("realtime_connections")


async def subscribed_socket(connect, user, foo) -> tuple[WebsocketCommunicator, str, str]:
    """A socket of ``user`` subscribed to ``foo``; its channel name and stream, as the process knows them."""
    communicator = await connect(user)
    frames = await subscribe(communicator, foo)
    stream = frames[-1]["stream"]
    (channel,) = get_user_quotas().sockets[str(user.pk)]
    watcher = get_watcher(get_channel_layer())
    assert channel in watcher.subscribers[stream]
    assert channel in watcher.users[user.pk]
    return communicator, channel, stream


async def connect_unmanaged(user) -> WebsocketCommunicator:
    """Like the ``connect`` fixture, for a socket this test ends itself (the fixture's teardown would disconnect it)."""
    token, _ = await sync_to_async(Token.objects.get_or_create)(user=user)
    headers = [(b"host", b"localhost"), (b"origin", b"http://localhost"), (b"authorization", f"Token {token}".encode())]
    communicator = WebsocketCommunicator(application, "/ws/notifications/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


def assert_released(user, channel: str, stream: str) -> None:
    watcher = get_watcher(get_channel_layer())
    assert channel not in watcher.subscribers.get(stream, set())
    assert channel not in watcher.users.get(user.pk, set())
    assert channel not in get_user_quotas().sockets.get(str(user.pk), set())


async def test_a_crash_in_a_handler_closes_with_4500_and_releases_the_socket(connect, alice, foo, monkeypatch):
    """A handler that raises closes the socket with 4500; the watcher, the quotas and the gauge forget it."""
    before = open_sockets()
    communicator, channel, stream = await subscribed_socket(connect, alice, foo)
    assert open_sockets() == before + 1

    async def crash(self, text_data=None, bytes_data=None):
        raise RuntimeError("a bug in a handler")

    monkeypatch.setattr(SubscriptionConsumer, "receive", crash)
    await communicator.send_json_to({"action": "ping"})
    assert await communicator.receive_output(timeout=3) == {
        "type": "websocket.close",
        "code": protocol.CLOSE_SERVER_ERROR,
    }
    await communicator.wait(timeout=3)  # the application has returned: release() ran
    assert_released(alice, channel, stream)
    assert open_sockets() == before


async def test_a_cancelled_socket_releases_its_state(alice, foo):
    """Cancelled (daphne kills an application that does not shut down in time): its state is still released."""
    before = open_sockets()
    communicator, channel, stream = await subscribed_socket(connect_unmanaged, alice, foo)
    communicator.future.cancel()
    with pytest.raises(asyncio.CancelledError):
        await communicator.future
    assert_released(alice, channel, stream)
    assert open_sockets() == before
