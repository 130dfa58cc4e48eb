"""Scenario ``subscribe`` (issue 14): how many subscribes one process answers per second, against pings.

``sockets`` sockets are opened first (the handshake rate is reported too),
then every socket at once, in three phases:

1. ``ping``: ``pings`` pings one after the other (the reference: a round trip
   through the consumer that touches no database);
2. ``single``: its ``per_socket`` objects subscribed one frame at a time;
3. ``batch``: the same objects again in one ``streams`` frame (a resubscribe
   after a reconnect).

Per phase: round-trip p50/p99 per frame, and subscribes (entries) per second
over the phase's wall time. Nothing is changed meanwhile, so no event frames
arrive; an ``error`` reply is counted.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from websockets.asyncio.client import ClientConnection

from bench.client import close_sockets, open_many, summary
from bench.targets import OursTarget


async def round_trip(socket: ClientConnection, text: str, request_id: str, errors: list[dict[str, Any]]) -> float:
    """Send ``text`` and wait for the reply carrying ``request_id``; milliseconds."""
    started = time.perf_counter()
    await socket.send(text)
    while True:
        frame = json.loads(await socket.recv())
        if frame.get("request_id") == request_id:
            break
    elapsed = (time.perf_counter() - started) * 1000
    if frame.get("type") == "error":
        errors.append(frame)
    errors.extend(r["error"] for r in frame.get("results", ()) if "error" in r)
    return elapsed


async def phase(
    sockets: list[ClientConnection], frames_of: Any, *, entries_per_frame: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Every socket sends its frames one after the other, all sockets at once; round trips and rate."""
    errors: list[dict[str, Any]] = []
    times: list[float] = []

    async def one(index: int, socket: ClientConnection) -> None:
        for request_id, text in frames_of(index):
            times.append(await round_trip(socket, text, request_id, errors))

    started = time.perf_counter()
    await asyncio.gather(*(one(i, s) for i, s in enumerate(sockets)))
    wall = time.perf_counter() - started
    result = {
        "frames": len(times),
        "entries": len(times) * entries_per_frame,
        "wall_s": round(wall, 2),
        "per_s": round(len(times) * entries_per_frame / wall, 1),
        **summary(times),
        "errors": len(errors),
    }
    return result, errors


async def subscribe(
    target: OursTarget, objects: list[str], *, sockets: int, per_socket: int, pings: int
) -> dict[str, Any]:
    """``sockets`` sockets subscribing to ``per_socket`` of ``objects`` each, singly then in batches; pings."""

    def mine(index: int) -> list[str]:
        return [objects[(index * per_socket + n) % len(objects)] for n in range(per_socket)]

    def ping_frames(index: int) -> list[tuple[str, str]]:
        return [(f"p{n}", json.dumps({"action": "ping", "request_id": f"p{n}"})) for n in range(pings)]

    def single_frames(index: int) -> list[tuple[str, str]]:
        return [
            (f"s{n}", json.dumps({"action": "subscribe", "request_id": f"s{n}", "object_type": "foo", "id": obj}))
            for n, obj in enumerate(mine(index))
        ]

    def batch_frames(index: int) -> list[tuple[str, str]]:
        entries = [{"object_type": "foo", "id": obj} for obj in mine(index)]
        return [("b", json.dumps({"action": "subscribe", "request_id": "b", "streams": entries}))]

    started = time.perf_counter()
    opened = await open_many(target, sockets, subprotocols=["realtime.v2"])
    handshake_s = time.perf_counter() - started
    try:
        ping, _ = await phase(opened, ping_frames, entries_per_frame=1)
        single, single_errors = await phase(opened, single_frames, entries_per_frame=1)
        batch, batch_errors = await phase(opened, batch_frames, entries_per_frame=per_socket)
    finally:
        await close_sockets(opened)
    return {
        "sockets": sockets,
        "per_socket": per_socket,
        "handshakes_per_s": round(sockets / handshake_s, 1),
        "ping": ping,
        "single": single,
        "batch": batch,
        "first_errors": (single_errors + batch_errors)[:3],
        "single_p50_vs_ping": _ratio(single["p50_ms"], ping["p50_ms"]),
        "single_p99_vs_ping": _ratio(single["p99_ms"], ping["p99_ms"]),
        "batch_p50_vs_ping": _ratio(batch["p50_ms"], ping["p50_ms"]),
        "batch_p99_vs_ping": _ratio(batch["p99_ms"], ping["p99_ms"]),
        "batch_vs_single_per_s": _ratio(batch["per_s"], single["per_s"]),
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None
