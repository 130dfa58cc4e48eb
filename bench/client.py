"""The load generator: many subscribed WebSocket clients in one asyncio process, timing each marked frame.

Every change carries a unique marker (its ``bar`` value). A ``Tally`` notes
when each subscriber saw each marker, so latency is arrival time minus the
moment the change was sent, and anything missing is counted as lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections import defaultdict
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from bench.targets import Target

#: Concurrent handshakes while ramping up (below daphne's listen backlog of 50).
RAMP_CONCURRENCY = 40


class Tally:
    """Arrival times of markers, and an event per marker set once every subscriber has it."""

    def __init__(self, subscribers: int) -> None:
        self.subscribers = subscribers
        self.sent: dict[str, float] = {}
        self.arrivals: dict[str, list[float]] = defaultdict(list)
        self.done: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self.duplicates = 0

    def mark_sent(self, marker: str) -> None:
        self.sent[marker] = time.perf_counter()

    def arrived(self, marker: str, at: float) -> None:
        times = self.arrivals[marker]
        times.append(at)
        if len(times) == self.subscribers:
            self.done[marker].set()

    async def wait(self, markers: list[str], seconds: float) -> None:
        """Wait until every marker reached every subscriber, or ``seconds`` passed (then some are lost)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                for marker in markers:
                    await self.done[marker].wait()

    def latencies_ms(self, markers: list[str]) -> list[float]:
        return [(at - self.sent[m]) * 1000 for m in markers for at in self.arrivals.get(m, ())]

    def delivered(self, markers: list[str]) -> int:
        return sum(len(self.arrivals.get(m, ())) for m in markers)


class Subscriber:
    """One client: connect, subscribe to one object, then report every marked frame to the tally."""

    def __init__(self, target: Target, obj: Any, tally: Tally | None) -> None:
        self.target, self.obj, self.tally = target, obj, tally
        self.socket: ClientConnection | None = None
        self.reader: asyncio.Task[None] | None = None
        self.seen: set[str] = set()

    async def start(self) -> None:
        self.socket = await self.target.open()
        await self.socket.send(self.target.subscribe_message(self.obj))
        async with asyncio.timeout(120):
            while not self.target.is_ack(json.loads(await self.socket.recv())):
                pass
        self.reader = asyncio.create_task(self.read())

    async def read(self) -> None:
        assert self.socket is not None
        with contextlib.suppress(ConnectionClosed):
            async for text in self.socket:
                at = time.perf_counter()
                marker = self.target.marker_of(json.loads(text))
                if marker is None or self.tally is None:
                    continue
                if marker in self.seen:
                    self.tally.duplicates += 1
                    continue
                self.seen.add(marker)
                self.tally.arrived(marker, at)

    async def close(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.reader
        if self.socket is not None:
            await self.socket.close()


async def subscribe_many(target: Target, obj: Any, count: int, tally: Tally | None) -> list[Subscriber]:
    """Up to ``count`` subscribed clients, opened at most ``RAMP_CONCURRENCY`` at a time.

    A client the server refuses or drops while subscribing is left out (and
    closed); the tally then expects the ones that did subscribe, and callers
    report ``count - len(result)`` as failed connections.
    """
    return await start_all([Subscriber(target, obj, tally) for _ in range(count)], tally)


async def start_all(subscribers: list[Subscriber], tally: Tally | None) -> list[Subscriber]:
    """Start ``subscribers`` (of any targets), ``RAMP_CONCURRENCY`` at a time; the ones that subscribed."""
    limit = asyncio.Semaphore(RAMP_CONCURRENCY)

    async def start(subscriber: Subscriber) -> None:
        async with limit:
            await subscriber.start()

    outcomes = await asyncio.gather(*(start(s) for s in subscribers), return_exceptions=True)
    failed = [s for s, outcome in zip(subscribers, outcomes, strict=True) if isinstance(outcome, BaseException)]
    await close_all(failed)
    started = [s for s, outcome in zip(subscribers, outcomes, strict=True) if not isinstance(outcome, BaseException)]
    if tally is not None:
        tally.subscribers = len(started)
    return started


async def open_many(target: Target, count: int, **options: Any) -> list[ClientConnection]:
    """``count`` open sockets (no subscriptions), ``RAMP_CONCURRENCY`` handshakes at a time."""
    limit = asyncio.Semaphore(RAMP_CONCURRENCY)

    async def one() -> ClientConnection:
        async with limit:
            return await target.open(**options)

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def close_sockets(sockets: list[ClientConnection]) -> None:
    for start in range(0, len(sockets), 500):
        await asyncio.gather(*(s.close() for s in sockets[start : start + 500]), return_exceptions=True)


async def close_all(subscribers: list[Subscriber]) -> None:
    for start in range(0, len(subscribers), 500):
        await asyncio.gather(*(s.close() for s in subscribers[start : start + 500]), return_exceptions=True)


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100); ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return round(ordered[rank - 1], 2)


def summary(values: list[float]) -> dict[str, float | None]:
    return {"p50_ms": percentile(values, 50), "p99_ms": percentile(values, 99), "max_ms": percentile(values, 100)}
