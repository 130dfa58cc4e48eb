"""Saying goodbye when the server stops: every socket is told when to come back before the process exits.

A restart (a deploy, SIGTERM) would otherwise drop thousands of sockets at
once, and their clients would all reconnect on their own schedule. Each
socket is sent a ``reconnect`` frame (once the process has stopped accepting
new connections) (``after_ms`` plus a random share of
``spread_ms``, from ``REALTIME["RECONNECT_AFTER_MS"]`` and
``["RECONNECT_SPREAD_MS"]``) and closed with 4503, then the process waits up
to ``GRACE`` seconds for the close handshakes before it lets the server go on
shutting down.

Under daphne this hooks Twisted's ``before shutdown`` event directly: daphne
4.2's own hook, which should cancel every application first, fails with a
``KeyError`` on connections that were upgraded from HTTP, so the sockets
would be dropped without a word. Servers that cancel their applications on
shutdown (the consumer's ``__call__`` says goodbye on cancellation too) and
uvicorn (which closes with 1012, "service restart") need nothing more.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import weakref
from typing import Any

logger = logging.getLogger(__name__)

#: Longest wait for the clients' close handshakes once every socket was told.
GRACE = 1.0

_consumers: weakref.WeakSet[Any] = weakref.WeakSet()
_hooked = False
#: Set while waiting for the last socket to close (``goodbye_all``).
_all_closed: asyncio.Event | None = None


def consumer_started(consumer: Any) -> None:
    """Remember a connected socket; under daphne, hook the server's shutdown the first time."""
    _consumers.add(consumer)
    _hook_twisted()


def consumer_stopped(consumer: Any) -> None:
    _consumers.discard(consumer)
    if not _consumers and _all_closed is not None:
        _all_closed.set()


async def goodbye_all() -> None:
    """Tell every connected socket of this process to come back later, and wait (a little) for them to close."""
    global _all_closed
    consumers = list(_consumers)
    if not consumers:
        return
    logger.info("Stopping: telling %d sockets when to reconnect.", len(consumers))
    _all_closed = asyncio.Event()
    await asyncio.gather(*(consumer.goodbye() for consumer in consumers), return_exceptions=True)
    if _consumers:
        try:
            await asyncio.wait_for(_all_closed.wait(), GRACE)
        except TimeoutError:
            logger.info("Stopping: %d sockets did not finish closing in %ss.", len(_consumers), GRACE)


def stop_listening(reactor: Any) -> None:
    """Close the server's listening sockets, so that no client reconnects to this process while it says goodbye.

    A client told to come back (or one that just arrived) would otherwise be
    accepted, subscribe, and be dropped again a moment later.
    """
    from twisted.internet import tcp

    for reader in list(reactor.getReaders()):
        if isinstance(reader, tcp.Port):  # unix-socket ports are tcp.Port subclasses too
            reader.stopListening()


def _hook_twisted() -> None:
    global _hooked
    if _hooked or "daphne.server" not in sys.modules or "twisted.internet.reactor" not in sys.modules:
        return
    _hooked = True
    from twisted.internet import defer, reactor

    def before_shutdown() -> Any:
        stop_listening(reactor)
        return defer.Deferred.fromFuture(asyncio.ensure_future(goodbye_all()))

    reactor.addSystemEventTrigger("before", "shutdown", before_shutdown)
