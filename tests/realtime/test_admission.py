"""The admission gate: handshakes beyond the limit are shed at once, told when to come back, and cost nothing."""

from __future__ import annotations

import asyncio
import functools
import inspect
import time

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from daphne.ws_protocol import WebSocketProtocol
from twisted.internet.testing import StringTransport
from twisted.web.http import HTTPChannel

from project.asgi import application
from realtime import protocol
from realtime.admission import (
    INITIAL_RATE,
    MAX_AFTER_MS,
    MIN_RATE,
    PROBE,
    WINDOW,
    AdmissionGate,
    AdmissionMiddleware,
    get_gate,
)
from realtime.tickets import ticket_issue

pytestmark = pytest.mark.django_db(transaction=True)

HEADERS = [(b"host", b"localhost"), (b"origin", b"http://localhost")]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_gate_sheds_beyond_its_limit_until_a_ticket_is_released():
    """``limit`` tickets at once; the next handshake is shed; a released ticket (once) makes room again."""
    gate = AdmissionGate(limit=2)
    first, second = gate.enter(), gate.enter()
    assert first is not None
    assert second is not None
    assert gate.enter() is None
    first.release()
    first.release()
    assert gate.admitting == 1
    assert gate.enter() is not None
    assert gate.enter() is None


def test_a_limit_of_zero_never_sheds():
    """``ADMISSION_LIMIT = 0`` turns the gate off."""
    gate = AdmissionGate(limit=0)
    assert all(gate.enter() is not None for _ in range(1000))


def test_shed_sockets_get_slots_at_the_rate_the_process_admits():
    """After the first ``WINDOW`` seconds of shedding, slots are ``1 / (PROBE * rate)`` apart after the last one
    given, with one gate's worth of jitter."""
    clock = Clock()
    gate = AdmissionGate(limit=50, clock=clock)
    assert gate.rate() == MIN_RATE  # nothing measured yet
    gate.come_back()  # shedding starts, and goes on
    clock.now += 3
    gate.come_back()
    clock.now += 0.5
    for _ in range(100):
        gate.enter().release()
    clock.now += 2  # shedding for 5.5 s: longer than a WINDOW
    assert gate.rate() == 50.0  # 100 admissions over the 2 s since the first
    assert PROBE * 50.0 == 75.0
    assert [gate.come_back() for _ in range(3)] == [(0, 667), (13, 667), (27, 667)]
    clock.now += 4  # the slots are in the past, and the admissions out of the window
    assert gate.rate() == MIN_RATE
    assert gate.come_back() == (0, 667)


def test_the_first_seconds_of_shedding_hand_out_slots_at_least_at_the_initial_rate():
    """Nothing measured but how fast clients arrived: the first ``WINDOW`` seconds of a spell of shedding pace
    slots at ``PROBE * INITIAL_RATE`` at least; then at the measured rate; after ``WINDOW`` without a shed, the
    next spell starts at the initial pace again."""
    clock = Clock()
    gate = AdmissionGate(limit=50, clock=clock)
    assert PROBE * INITIAL_RATE == 300.0
    assert [gate.come_back()[0] for _ in range(4)] == [0, 3, 7, 10]  # 300 a second, not 75
    clock.now += WINDOW - 0.001
    gate.come_back()
    clock.now += 0.002  # shedding has gone on for a whole window: the measured rate (its floor here) paces
    after = [gate.come_back()[0] for _ in range(2)]
    assert abs(after[1] - after[0] - 1000 / (PROBE * MIN_RATE)) < 1  # 75 a second
    clock.now += 200  # a quiet spell: the slots are in the past, and so is the last shed
    assert [gate.come_back()[0] for _ in range(2)] == [0, 3]


def test_the_latest_slot_is_capped():
    """However many are shed, no client is told to wait more than ``MAX_AFTER_MS``."""
    gate = AdmissionGate(limit=1, clock=Clock())
    slots = [gate.come_back()[0] for _ in range(100_000)]
    assert slots[1] == 3  # in the first seconds of shedding, 300 a second
    assert slots[-1] == MAX_AFTER_MS


async def test_a_handshake_waits_briefly_for_a_place_before_it_is_shed():
    """Beyond the limit a handshake waits for a released place (which passes on to it), at most ``max_wait``."""
    gate = AdmissionGate(limit=1, max_wait=0.5)
    held = gate.enter()
    waiting = asyncio.ensure_future(gate.admit())
    await asyncio.sleep(0.05)
    assert not waiting.done()
    held.release()
    handed = await waiting
    assert handed is not None
    assert gate.admitting == 1  # the place passed on
    started = time.monotonic()
    assert await gate.admit() is None  # nobody releases: shed after the wait
    assert time.monotonic() - started >= 0.5
    assert gate.shed == 1
    handed.release()
    assert gate.admitting == 0


async def test_no_handshake_waits_behind_more_than_the_gate_admits_in_the_wait():
    """The queue holds what the measured rate admits in ``max_wait``; one more is shed at once."""
    gate = AdmissionGate(limit=1, max_wait=0.2)
    held = gate.enter()
    queue = [asyncio.ensure_future(gate.admit()) for _ in range(round(MIN_RATE * 0.2))]
    await asyncio.sleep(0)
    started = time.monotonic()
    assert await gate.admit() is None
    assert time.monotonic() - started < 0.1
    held.release()
    assert (await queue[0]) is not None
    assert await asyncio.gather(*queue[1:]) == [None] * (len(queue) - 1)


async def test_a_shed_socket_is_told_when_to_come_back_and_uses_up_no_ticket(settings, alice):
    """Beyond the limit: accepted, a ``reconnect`` frame, 4503, and no authentication (the ticket still works)."""
    settings.REALTIME = {"ADMISSION_LIMIT": 1}
    held = get_gate().enter()
    ticket = await sync_to_async(ticket_issue)(user=alice)
    path = f"/ws/notifications/?ticket={ticket}"
    shed = WebsocketCommunicator(application, path, headers=HEADERS, subprotocols=[protocol.SUBPROTOCOL_EVENTS])
    connected, subprotocol = await shed.connect(timeout=5)  # after waiting MAX_WAIT for a place
    assert connected
    assert subprotocol == protocol.SUBPROTOCOL_EVENTS
    frame = await shed.receive_json_from()
    assert frame["type"] == protocol.RECONNECT
    assert frame["after_ms"] >= 0
    assert frame["spread_ms"] >= 250
    assert await shed.receive_output() == {"type": "websocket.close", "code": protocol.CLOSE_TRY_AGAIN}
    await shed.wait()

    held.release()
    admitted = WebsocketCommunicator(application, path, headers=HEADERS)
    assert (await admitted.connect())[0]
    await admitted.send_json_to({"action": "ping", "request_id": 1})
    assert await admitted.receive_json_from() == {"type": "pong", "request_id": 1}  # authenticated by that ticket
    assert get_gate().admitting == 0
    await admitted.disconnect()


async def test_a_handshake_counts_until_it_is_accepted():
    """A handshake the application has not answered holds its place; its accept gives it back."""
    gate = AdmissionGate(limit=1, max_wait=0.1)
    answer = asyncio.Event()

    async def slow_app(scope, receive, send):
        await receive()
        await answer.wait()
        await send({"type": "websocket.accept"})
        while (await receive())["type"] != "websocket.disconnect":
            pass

    middleware = AdmissionMiddleware(slow_app)
    middleware.gate = gate
    pending = WebsocketCommunicator(middleware, "/ws/notifications/")
    connecting = asyncio.ensure_future(pending.connect())
    await asyncio.sleep(0.05)
    assert gate.admitting == 1
    shed = WebsocketCommunicator(middleware, "/ws/notifications/")
    assert (await shed.connect())[0]
    assert (await shed.receive_json_from())["type"] == protocol.RECONNECT
    answer.set()
    assert (await connecting)[0]
    assert gate.admitting == 0
    later = WebsocketCommunicator(middleware, "/ws/notifications/")
    assert (await later.connect())[0]
    assert await later.receive_nothing(timeout=0.1)  # admitted: no reconnect frame
    await pending.disconnect()
    await later.disconnect()


async def test_an_admitted_socket_keeps_the_servers_own_send_for_flow_control():
    """The send the application gets unwraps to the server's own (``realtime.transport`` registers on daphne's)."""
    received = []

    async def app(scope, receive, send):
        received.append(inspect.unwrap(send))
        await receive()
        await send({"type": "websocket.accept"})

    async def server_receive():
        return {"type": "websocket.connect"}

    async def server_send(message):
        pass

    middleware = AdmissionMiddleware(app)
    middleware.gate = AdmissionGate(limit=1)
    await middleware({"type": "websocket", "path": "/ws/notifications/"}, server_receive, server_send)
    assert received == [server_send]
    assert middleware.gate.admitting == 0


async def test_a_shed_socket_is_closed_only_after_its_reply_is_written():
    """On daphne the close of a shed waits until Twisted wrote the reply out: the close starts a timer that aborts
    the connection and drops what is unwritten, so it must never go out ahead of the ``reconnect`` frame."""
    transport = StringTransport()
    transport.bufferSize = 65536
    channel = HTTPChannel()
    channel.timeOut = None
    channel.makeConnection(transport)  # the upgraded-from channel, as daphne leaves it
    socket = WebSocketProtocol()
    transport.protocol, socket.transport = socket, transport
    written: list[str] = []

    async def handle_reply(protocol: WebSocketProtocol, message: dict) -> None:
        """Stands for daphne's ``Server.handle_reply`` on a Twisted ``FileDescriptor``: a write over ``bufferSize``
        pauses the registered streaming producer until the reactor has written the buffer out."""
        written.append(message["type"])
        transport.write(message.get("text", message["type"]).encode())
        if transport.producer is not None and len(transport.value()) > transport.bufferSize:
            transport.producer.pauseProducing()

    async def receive() -> dict:
        return {"type": "websocket.connect"}

    shed = asyncio.ensure_future(
        AdmissionMiddleware.shed(
            {"type": "websocket", "subprotocols": []},
            receive,
            functools.partial(handle_reply, socket),
            AdmissionGate(limit=1),
        )
    )
    await asyncio.sleep(0.05)
    assert written == ["websocket.accept", "websocket.send"]  # the close waits
    assert transport.producerState == "paused"  # and nothing is read meanwhile (Twisted would read 0 bytes)
    transport.clear()
    transport.producer.resumeProducing()  # the reactor wrote the buffer out
    await asyncio.wait_for(shed, 1)
    assert written == ["websocket.accept", "websocket.send", "websocket.close"]
    assert transport.producer is None  # handed back for the close handshake, with its own read size
    assert (transport.bufferSize, transport.producerState) == (65536, "producing")
