"""Backpressure on outgoing frames (``realtime.transport``): the bounded wait, and flow control on daphne's transport.

The Twisted side is driven with Twisted's own ``StringTransport`` (an
``IConsumer`` that records its producer and whether it is paused), a real
``HTTPChannel`` and a real daphne ``WebSocketProtocol``; the end-to-end tests
(tests/e2e/test_hostile_clients.py) run the same path on a real socket.
"""

from __future__ import annotations

import asyncio
import functools
import time
from typing import Any

import pytest
from autobahn.exception import Disconnected
from daphne.ws_protocol import WebSocketProtocol
from twisted.internet.testing import StringTransport
from twisted.web.http import HTTPChannel
from websockets.exceptions import ConnectionClosedOK
from websockets.frames import Close

from realtime.transport import ClientGone, ClientTooSlow, SendBuffer, TwistedSendBuffer, send_buffer

MESSAGE = {"type": "websocket.send", "text": "{}"}


async def slow_send(message: dict[str, Any]) -> None:
    """A server send that waits for a client that does not read (as uvicorn's does)."""
    await asyncio.sleep(30)


async def test_a_send_that_waits_longer_than_the_timeout_raises_client_too_slow():
    """SendBuffer gives up on a send that has not finished after ``timeout`` seconds."""
    buffer = SendBuffer(slow_send, timeout=0.05)
    started = time.monotonic()
    with pytest.raises(ClientTooSlow):
        await buffer.send(MESSAGE)
    assert time.monotonic() - started < 1


async def test_a_send_within_the_timeout_is_delivered():
    """A send that finishes in time goes through, message unchanged."""
    sent = []

    async def send(message: dict[str, Any]) -> None:
        await asyncio.sleep(0.01)
        sent.append(message)

    await SendBuffer(send, timeout=5).send(MESSAGE)
    assert sent == [MESSAGE]


async def test_a_timeout_of_zero_waits_as_long_as_the_send_takes():
    """``timeout=0`` (the buffer before the socket is accepted) puts no bound on the wait."""
    sent = []

    async def send(message: dict[str, Any]) -> None:
        await asyncio.sleep(0.1)
        sent.append(message)

    await SendBuffer(send, timeout=0).send(MESSAGE)
    assert sent == [MESSAGE]


@pytest.mark.parametrize(
    "error",
    [Disconnected("Attempt to send on a closed protocol"), ConnectionClosedOK(Close(1000, ""), Close(1000, ""), True)],
)
async def test_sending_to_a_client_that_left_raises_client_gone(error):
    """autobahn's ``Disconnected`` (daphne) and websockets' ``ConnectionClosed`` (uvicorn) mean the client left."""

    async def send(message: dict[str, Any]) -> None:
        raise error

    with pytest.raises(ClientGone):
        await SendBuffer(send, timeout=1).send(MESSAGE)


async def test_other_send_errors_propagate():
    """A server error that is not a disconnect is not hidden as one."""

    async def send(message: dict[str, Any]) -> None:
        raise ValueError("Socket has not been accepted, so cannot send over it")

    with pytest.raises(ValueError, match="not been accepted"):
        await SendBuffer(send, timeout=1).send(MESSAGE)


# --- daphne's Twisted transport ------------------------------------------------------------------


async def handle_reply(protocol: WebSocketProtocol, message: dict[str, Any]) -> None:
    """Stands for ``daphne.server.Server.handle_reply``: daphne passes ``partial(server.handle_reply, protocol)``."""
    protocol.transport.write(message["text"].encode())


def upgraded_socket() -> tuple[StringTransport, WebSocketProtocol]:
    """A transport as daphne leaves it after the upgrade: still produced by its HTTPChannel, read by the WebSocket."""
    transport = StringTransport()
    transport.bufferSize = 65536  # every Twisted TCP transport (FileDescriptor) has one; StringTransport does not
    channel = HTTPChannel()
    channel.timeOut = None
    channel.makeConnection(transport)  # registers the channel as the transport's producer, as on a real socket
    protocol = WebSocketProtocol()
    transport.protocol, protocol.transport = protocol, transport
    return transport, protocol


def test_daphnes_upgraded_transport_gets_flow_control():
    """The HTTPChannel that handed the socket over is replaced by a TwistedSendBuffer (it left frames unbounded)."""
    transport, protocol = upgraded_socket()
    assert isinstance(transport.producer, HTTPChannel)
    buffer = send_buffer(functools.partial(handle_reply, protocol), high_water=1000, timeout=1)
    assert isinstance(buffer, TwistedSendBuffer)
    assert transport.producer is buffer
    assert transport.streaming
    assert transport.bufferSize == 1000


def test_a_transport_with_another_producer_keeps_it():
    """A producer that is not the upgraded-from HTTP channel is left alone; sends are only time-bounded."""
    transport, protocol = upgraded_socket()
    transport.unregisterProducer()
    other = HTTPChannel()
    transport.registerProducer(other, True)
    transport.protocol = other  # the channel still owns the transport: it was not handed over
    buffer = send_buffer(functools.partial(handle_reply, protocol), high_water=1000, timeout=1)
    assert type(buffer) is SendBuffer
    assert transport.producer is other


def test_a_middleware_that_wraps_daphnes_send_keeps_flow_control():
    """A wrapper that names daphne's send as its ``__wrapped__`` (as the admission gate's does) is seen through."""
    transport, protocol = upgraded_socket()
    daphne_send = functools.partial(handle_reply, protocol)

    async def wrapped(message: dict[str, Any]) -> None:
        await daphne_send(message)

    wrapped.__wrapped__ = daphne_send
    buffer = send_buffer(wrapped, high_water=1000, timeout=1)
    assert isinstance(buffer, TwistedSendBuffer)
    assert transport.producer is buffer


def test_a_send_that_is_not_daphnes_gets_the_bounded_wait():
    """Under another server (a plain coroutine as ``send``) the buffer is the time-bounded SendBuffer."""
    assert type(send_buffer(slow_send, high_water=1000, timeout=1)) is SendBuffer


async def test_a_paused_transport_holds_sends_until_resumed():
    """Twisted's pauseProducing stops reading and holds the next send; resumeProducing lets it through."""
    transport, protocol = upgraded_socket()
    buffer = send_buffer(functools.partial(handle_reply, protocol), high_water=1000, timeout=5)
    buffer.pauseProducing()
    assert transport.producerState == "paused"  # the client's frames are not read meanwhile
    pending = asyncio.create_task(buffer.send({"type": "websocket.send", "text": "held"}))
    await asyncio.sleep(0)  # let the task start waiting
    assert not pending.done()
    assert b"held" not in transport.value()
    buffer.resumeProducing()
    await pending
    assert transport.producerState == "producing"
    assert transport.value().endswith(b"held")


async def test_a_transport_that_stays_paused_raises_client_too_slow():
    """A send waiting on a paused transport for ``timeout`` seconds raises ClientTooSlow and writes nothing."""
    transport, protocol = upgraded_socket()
    buffer = send_buffer(functools.partial(handle_reply, protocol), high_water=1000, timeout=0.05)
    buffer.pauseProducing()
    with pytest.raises(ClientTooSlow):
        await buffer.send({"type": "websocket.send", "text": "never"})
    assert b"never" not in transport.value()


async def test_closing_unregisters_and_resumes_reading():
    """close() gives the transport back (reading resumed, no producer) so the close handshake can run."""
    transport, protocol = upgraded_socket()
    buffer = send_buffer(functools.partial(handle_reply, protocol), high_water=1000, timeout=5)
    buffer.pauseProducing()
    buffer.close()
    assert transport.producer is None
    assert transport.producerState == "producing"
    await buffer.send({"type": "websocket.send", "text": "bye"})  # no longer held
    buffer.close()  # idempotent
    assert transport.value().endswith(b"bye")


async def test_a_stopped_producer_no_longer_holds_sends():
    """stopProducing (the connection is lost) releases a waiting send instead of leaving it to time out."""
    _transport, protocol = upgraded_socket()
    buffer = send_buffer(functools.partial(handle_reply, protocol), high_water=1000, timeout=5)
    buffer.pauseProducing()
    pending = asyncio.create_task(buffer.send({"type": "websocket.send", "text": "late"}))
    await asyncio.sleep(0)
    buffer.stopProducing()
    await asyncio.wait_for(pending, 1)


async def test_closing_gives_the_transport_its_own_buffer_size_back():
    """Twisted also reads ``bufferSize`` bytes at a time: close() restores the size the transport had."""
    transport, protocol = upgraded_socket()
    buffer = send_buffer(functools.partial(handle_reply, protocol), high_water=1000, timeout=5)
    assert transport.bufferSize == 1000
    buffer.close()
    assert transport.bufferSize == 65536


async def test_a_high_water_of_zero_reads_nothing_until_closed_and_drain_waits_for_the_write():
    """With ``high_water=0`` (a read of 0 bytes is an end of file to Twisted) reading stays paused while the
    buffer is registered, even when the transport resumes it; ``drain()`` returns once everything is written."""
    transport, protocol = upgraded_socket()
    buffer = send_buffer(functools.partial(handle_reply, protocol), high_water=0, timeout=5)
    assert transport.producerState == "paused"
    await buffer.send({"type": "websocket.send", "text": "bye"})
    buffer.pauseProducing()  # what Twisted does on a write over bufferSize
    draining = asyncio.create_task(buffer.drain())
    await asyncio.sleep(0)
    assert not draining.done()
    buffer.resumeProducing()  # the buffer was written out
    await asyncio.wait_for(draining, 1)
    assert transport.producerState == "paused"
    buffer.close()
    assert transport.producerState == "producing"
