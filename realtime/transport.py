"""Backpressure on a socket's outgoing frames: a client that does not read cannot make the server buffer without bound.

ASGI has no flow control of its own, and servers differ:

* **daphne** writes every frame into the socket's Twisted transport at once
  and returns, so a client that never reads grows that buffer without
  limit. ``TwistedSendBuffer`` registers itself as the transport's streaming
  producer (Twisted's own flow-control interface, ``IConsumer``) with the
  transport's buffer size set to ``high_water``: Twisted pauses it when the
  buffer goes over, and resumes it once the buffer has drained. While paused,
  the consumer waits before its next frame, and the transport stops reading
  the client's frames too.
* **uvicorn** (and other servers built on ``websockets``) wait in ``send``
  until their transport buffer drains; ``SendBuffer`` bounds that wait.

Either way, a socket whose buffer stays over the bound for ``timeout``
seconds raises ``ClientTooSlow``; the consumer closes it with
``CLOSE_TOO_SLOW``. At most one frame is written past ``high_water``, so the
bytes queued for one socket stay under ``high_water`` plus the largest frame.
``drain()`` waits for the buffer to come back under the bound; with
``high_water=0``, until everything sent is written out (a shed socket's
reply, before its close: ``realtime.admission``).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

logger = logging.getLogger(__name__)

Send = Callable[[dict[str, Any]], Awaitable[None]]


class ClientTooSlow(Exception):
    """The client has not read its frames for too long."""


class ClientGone(Exception):
    """The client left while a frame was being sent (not an error)."""


class SendBuffer:
    """Sends ASGI messages, waiting at most ``timeout`` seconds for a server that applies backpressure itself."""

    def __init__(self, send: Send, *, timeout: float) -> None:
        self._send = send
        self.timeout = timeout

    async def send(self, message: dict[str, Any]) -> None:
        try:
            async with asyncio.timeout(self.timeout if self.timeout > 0 else None):
                await self._send(message)
        except TimeoutError:
            raise ClientTooSlow() from None
        except Exception as exc:
            if _is_disconnect(exc):
                raise ClientGone() from exc
            raise

    async def drain(self) -> None:
        """Wait until what was sent has been handed to the network (here: once ``send`` returned)."""

    def close(self) -> None:
        """Stop watching the socket (it is closing)."""


class TwistedSendBuffer(SendBuffer):
    """Flow control through daphne's Twisted transport (an ``IPushProducer`` registered on it)."""

    def __init__(self, send: Send, *, transport: Any, high_water: int, timeout: float) -> None:
        super().__init__(send, timeout=timeout)
        self.transport = transport
        self.writable = asyncio.Event()
        self.writable.set()
        self.registered = False
        # Twisted also reads ``bufferSize`` bytes at a time; close() gives the transport its own size back.
        self.read_size = transport.bufferSize
        transport.bufferSize = high_water
        if transport.producer is not None:
            transport.unregisterProducer()  # daphne's HTTP channel, which no longer reads this socket
        transport.registerProducer(self, True)
        self.registered = True
        if not self.reading():
            transport.pauseProducing()

    def reading(self) -> bool:
        """Whether the client's frames are read meanwhile: not with ``high_water=0`` (``drain()`` waits until
        everything is written), under which a read would ask for 0 bytes, which Twisted takes for the end of the
        connection."""
        return self.registered and self.transport.bufferSize > 0

    async def send(self, message: dict[str, Any]) -> None:
        await self.drain()
        try:
            await self._send(message)
        except Exception as exc:
            if _is_disconnect(exc):
                raise ClientGone() from exc
            raise

    async def drain(self) -> None:
        """Wait until the transport's buffer is back under ``high_water`` (with 0: written out), or raise
        ``ClientTooSlow`` after ``timeout`` seconds."""
        if not self.writable.is_set():
            try:
                async with asyncio.timeout(self.timeout if self.timeout > 0 else None):
                    await self.writable.wait()
            except TimeoutError:
                raise ClientTooSlow() from None

    def close(self) -> None:
        if self.registered:
            self.registered = False
            self.writable.set()
            self.transport.bufferSize = self.read_size
            self.transport.unregisterProducer()
            self.transport.resumeProducing()

    # IPushProducer, called by Twisted on the event loop's thread.

    def pauseProducing(self) -> None:
        self.writable.clear()
        self.transport.pauseProducing()  # and stop reading the client's frames meanwhile

    def resumeProducing(self) -> None:
        self.writable.set()
        if self.reading():
            self.transport.resumeProducing()
        if getattr(self.transport, "disconnecting", False):
            self.close()  # let a closing transport finish (Twisted waits for the producer otherwise)

    def stopProducing(self) -> None:
        self.registered = False
        self.writable.set()


def send_buffer(send: Send, *, high_water: int, timeout: float) -> SendBuffer:
    """The flow control for an ASGI ``send``: Twisted's when it is daphne's, a bounded wait otherwise."""
    transport = _daphne_transport(send)
    if transport is not None:
        try:
            return TwistedSendBuffer(send, transport=transport, high_water=high_water, timeout=timeout)
        except Exception:
            logger.warning("Could not register flow control on %r; sends are only time-bounded.", transport)
    return SendBuffer(send, timeout=timeout)


def _daphne_transport(send: Send) -> Any:
    """daphne passes ``partial(server.handle_reply, protocol)``; its protocol's transport, if it is plain TCP.

    A middleware that wraps ``send`` keeps daphne's reachable as the wrapper's
    ``__wrapped__`` (``functools.wraps``' convention, followed by ``inspect.unwrap``).
    """
    send = inspect.unwrap(send)
    if not isinstance(send, functools.partial) or not send.args:
        return None
    protocol = send.args[0]
    if not type(protocol).__module__.startswith("daphne."):
        return None
    transport = getattr(protocol, "transport", None)
    if transport is None or not hasattr(transport, "registerProducer") or not hasattr(transport, "bufferSize"):
        return None  # not a plain Twisted TCP transport (TLS wraps it)
    producer = getattr(transport, "producer", None)
    if producer is not None and not _upgraded_from(producer, transport):
        return None  # someone else's producer
    return transport


def _upgraded_from(producer: Any, transport: Any) -> bool:
    """Whether ``producer`` is the HTTP channel that handed ``transport`` over to the WebSocket.

    Twisted's ``HTTPChannel`` registers itself as its transport's producer and
    stays registered after daphne moves the transport to the WebSocket
    protocol; it then only stops reading when the buffer is full, while the
    consumer's frames keep piling up in it.
    """
    try:
        from twisted.web.http import HTTPChannel
    except ImportError:
        return False
    return isinstance(producer, HTTPChannel) and getattr(transport, "protocol", None) is not producer


def _is_disconnect(exc: Exception) -> bool:
    """autobahn (daphne) raises ``Disconnected`` when sending on a socket the client just closed."""
    return type(exc).__name__ in {"Disconnected", "ConnectionClosed", "ConnectionClosedOK", "ConnectionClosedError"}
