"""Admission control at the handshake: a busy process turns new sockets away at once and says when to come back.

When a process that held thousands of sockets restarts, their clients come
back together. Each handshake costs the event loop work before the
application sees it (daphne and autobahn parse it), and several hops of the
loop after (authentication, the channel layer, the first subscribe). With
thousands in flight, every hop waits behind all the others, daphne rejects
each handshake the application has not accepted within its
``--websocket_connect_timeout`` (5 s), the clients retry, and the work done
for them is thrown away: a congestion collapse in which no one gets in.

``AdmissionGate`` (one per process) bounds the handshakes in progress: a
socket counts from its ``websocket.connect`` until it is accepted or
closed. Beyond ``REALTIME["ADMISSION_LIMIT"]`` of them, a new socket waits
for a place, at most ``REALTIME["ADMISSION_WAIT"]`` seconds and only while the queue is
shorter than what the gate admits in that time; otherwise it is shed before
it authenticates or touches the database or the channel layer: accepted,
sent one ``reconnect`` frame, and closed with 4503. The bound keeps the
handshakes let through few enough to finish long before daphne's timeout,
whatever the number of clients knocking; the short queue absorbs clients
that come back a little early. A shed costs the process a whole handshake
(daphne's and autobahn's part is most of one), so the fewer, the better.
Its close waits until its ``reconnect`` frame is written out: closed at
once, the frame was lost for about one shed client in five in a storm's
first seconds, and the slots handed to them went unused (the process then
sat idle for 10-15 s while those clients were still out).

The ``reconnect`` frame gives each shed client its own time to come back, so
that they return at the pace the process admits sockets rather than all
together: the gate measures how many sockets it finished admitting over the
last few seconds (``rate``) and hands out slots ``1 / (PROBE * rate)``
apart after the last slot it gave (``after_ms``), with ``spread_ms`` of
jitter (one gate's worth of admissions). In the first seconds of shedding,
when nearly every client of a restart is handed its slot, nothing is
measured yet but how fast clients arrived: slots then follow at least
``INITIAL_RATE`` a second, since a pace too slow leaves the process idle for
the whole catch-up and one too fast only sheds some clients a second time.
Clients follow it as they follow the restart hint
(``frontend/src/realtime/client.ts``).

``AdmissionMiddleware`` is the ASGI middleware that applies the gate;
``realtime.asgi`` puts it in front of authentication.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from realtime import metrics, protocol
from realtime.conf import realtime_settings
from realtime.transport import ClientGone, ClientTooSlow, send_buffer

logger = logging.getLogger(__name__)

#: Over how many seconds the admission rate is measured.
WINDOW = 5.0
#: The rate assumed before anything was measured, and the least one (sockets per second).
MIN_RATE = 50.0
#: The least pace of the slots handed out in the first ``WINDOW`` seconds of shedding (sockets per second). Then
#: the gate has not measured what the process can do (only how fast clients arrived), yet nearly every client of
#: a restart is shed and handed its slot in those seconds: at a pace below what the process can do, it sits idle
#: through the whole catch-up (at ``PROBE * MIN_RATE``, 5,000 clients took 66 s on any machine). Too fast a pace
#: only sheds a client again (a handshake's work, and a later slot at the measured rate).
INITIAL_RATE = 200.0
#: Slots are handed out this much faster than the measured rate: while the gate is not full, what it measures
#: is the pace the clients came back at, not what the process can do, so the pace must probe upwards (the
#: cost of probing too fast is a few clients shed again, and given a later slot).
PROBE = 1.5
#: How long a shed socket's reply may wait to be written before the socket is closed anyway (seconds).
SHED_FLUSH_TIMEOUT = 5.0
#: The latest a shed client is told to come back (milliseconds).
MAX_AFTER_MS = 120_000


class Ticket:
    """One socket's place in the gate; ``release()`` (idempotent) gives it back."""

    __slots__ = ("_gate", "released")

    def __init__(self, gate: AdmissionGate) -> None:
        self._gate = gate
        self.released = False

    def release(self) -> None:
        if not self.released:
            self.released = True
            self._gate._finished()


class AdmissionGate:
    """How many sockets are being admitted, how fast they finish, and the come-back slots handed out."""

    def __init__(self, *, limit: int, max_wait: float = 2.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.max_wait = max_wait
        self.clock = clock
        self.admitting = 0
        self.shed = 0
        self._waiters: deque[asyncio.Future[Ticket]] = deque()
        self._finishes: deque[float] = deque()
        self._first: float | None = None
        self._next_slot = 0.0
        self._shedding_since: float | None = None
        self._last_shed = 0.0

    def enter(self) -> Ticket | None:
        """A ticket for a new socket now, or ``None`` when ``limit`` sockets are being admitted."""
        if self.limit and self.admitting >= self.limit:
            return None
        self.admitting += 1
        return Ticket(self)

    async def admit(self) -> Ticket | None:
        """A ticket, after waiting up to ``max_wait`` for a place; ``None``: shed the socket.

        A handshake waits only while the queue ahead of it is shorter than
        what the gate admits in ``max_wait`` at the measured rate: a client
        that comes back a little before its slot waits for a place instead
        of being shed again, and none waits into daphne's timeout.
        """
        ticket = self.enter()
        if ticket is not None:
            return ticket
        waiting = sum(1 for waiter in self._waiters if not waiter.done())
        if waiting < self.rate() * self.max_wait:
            waiter: asyncio.Future[Ticket] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await asyncio.wait({waiter}, timeout=self.max_wait)
            except asyncio.CancelledError:
                if waiter.done():
                    waiter.result().release()
                else:
                    waiter.cancel()
                raise
            if waiter.done():
                return waiter.result()
            waiter.cancel()  # never handed a ticket now (_finished skips it)
        self.shed += 1
        return None

    def _finished(self) -> None:
        now = self.clock()
        if self._first is None:
            self._first = now
        self._finishes.append(now)
        self._trim(now)
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(Ticket(self))  # the place passes on: ``admitting`` stays
                return
        self.admitting -= 1

    def _trim(self, now: float) -> None:
        while self._finishes and self._finishes[0] < now - WINDOW:
            self._finishes.popleft()

    def rate(self) -> float:
        """Sockets admitted per second over the last ``WINDOW`` seconds, or since the first (at least ``MIN_RATE``)."""
        now = self.clock()
        self._trim(now)
        if self._first is None:
            return MIN_RATE
        span = max(0.5, min(WINDOW, now - self._first))
        return max(MIN_RATE, len(self._finishes) / span)

    def _pace(self) -> float:
        """Count a shed; the rate its slot is handed out at, before ``PROBE``: the measured ``rate()``, but at
        least ``INITIAL_RATE`` in the first ``WINDOW`` seconds of a spell of shedding (after ``WINDOW`` without)."""
        now = self.clock()
        if self._shedding_since is None or now - self._last_shed > WINDOW:
            self._shedding_since = now
        self._last_shed = now
        if now - self._shedding_since < WINDOW:
            return max(INITIAL_RATE, self.rate())
        return self.rate()

    def come_back(self) -> tuple[int, int]:
        """``(after_ms, spread_ms)`` for a shed socket: the next free slot, and one gate's worth of jitter."""
        now = self.clock()
        rate = self._pace() * PROBE
        slot = max(self._next_slot, now)
        self._next_slot = slot + 1 / rate
        after_ms = min(MAX_AFTER_MS, round((slot - now) * 1000))
        spread_ms = max(250, round(self.limit / rate * 1000))
        return after_ms, spread_ms


_gate: AdmissionGate | None = None


def get_gate() -> AdmissionGate:
    """This process's gate, with ``REALTIME["ADMISSION_LIMIT"]`` (0: no limit) and ``["ADMISSION_WAIT"]``."""
    global _gate
    limit, wait = realtime_settings.ADMISSION_LIMIT, realtime_settings.ADMISSION_WAIT
    if _gate is None or (_gate.limit, _gate.max_wait) != (limit, wait):
        _gate = AdmissionGate(limit=limit, max_wait=wait)
    return _gate


class AdmissionMiddleware:
    """Sheds a WebSocket handshake when the gate is full; otherwise passes it on, counted until it is answered."""

    #: The gate to apply (``None``: the process's, ``get_gate()``).
    gate: AdmissionGate | None = None

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def get_gate(self) -> AdmissionGate:
        return self.gate if self.gate is not None else get_gate()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] != "websocket":
            return await self.inner(scope, receive, send)
        gate = self.get_gate()
        ticket = await gate.admit()
        if ticket is None:
            return await self.shed(scope, receive, send, gate)

        async def tracked_send(message: dict[str, Any]) -> None:
            if message["type"] in ("websocket.accept", "websocket.close"):
                ticket.release()
            await send(message)

        tracked_send.__wrapped__ = send  # type: ignore[attr-defined]  # daphne's send, for flow control
        try:
            return await self.inner(scope, receive, tracked_send)
        finally:
            ticket.release()

    @staticmethod
    async def shed(scope: dict[str, Any], receive: Any, send: Any, gate: AdmissionGate) -> None:
        """Accept, say when to come back, close with 4503: no authentication, database or channel layer."""
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        after_ms, spread_ms = gate.come_back()
        metrics.handshake_shed()
        if gate.shed % 1000 == 1:
            logger.warning(
                "Shedding WebSocket handshakes: %d sockets are being admitted (ADMISSION_LIMIT); "
                "%d shed so far, told to come back within %d ms.",
                gate.admitting,
                gate.shed,
                after_ms + spread_ms,
            )
        subprotocol = (
            protocol.SUBPROTOCOL_EVENTS if protocol.SUBPROTOCOL_EVENTS in scope.get("subprotocols", ()) else None
        )
        frame = protocol.reply(protocol.RECONNECT, None, after_ms=after_ms, spread_ms=spread_ms)
        await send({"type": "websocket.accept", "subprotocol": subprotocol})
        # The close waits until the reply is written out: on daphne it starts autobahn's close-handshake timer
        # (1 s, which txaio rounds down to a whole second, so it may fire at once), whose abort drops what Twisted
        # has not written yet, and in a storm the loop gets to writing later than that.
        buffer = send_buffer(send, high_water=0, timeout=SHED_FLUSH_TIMEOUT)
        try:
            await buffer.send({"type": "websocket.send", "text": protocol.encode(frame)})
            await buffer.drain()
        except (ClientGone, ClientTooSlow):
            pass
        finally:
            buffer.close()
        await send({"type": "websocket.close", "code": protocol.CLOSE_TRY_AGAIN})
