"""The five benchmark scenarios of issue 7. Each returns a dict of numbers; none asserts anything.

1. ``fanout``: one change, many subscribers of one object; latency from the
   change being sent to each frame arriving, over several rounds.
2. ``sustained``: a steady rate of changes to one object with 100 subscribers.
3. ``connections``: many idle subscribed sockets; the server's RSS per socket.
4. ``recovery``: a missed history replayed in-band (subscribe ``since``) and
   over REST (``/api/notifications/``); this project only.
5. ``write_overhead``: a tracked save with its log append against an
   untracked save of the same fields; this project only, in-process.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from typing import Any

from bench.client import Subscriber, Tally, close_all, subscribe_many, summary
from bench.targets import Target, rss_bytes

#: Seconds to wait for the last frames of a change before counting them lost.
DRAIN_SECONDS = 15.0


def new_marker(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def warm_up(target: Target, obj: Any, tally: Tally) -> None:
    """One unmeasured change first, so first-request costs (imports, caches, connections) stay out."""
    marker = new_marker("warm")
    tally.mark_sent(marker)
    await target.change(obj, marker)
    await tally.wait([marker], DRAIN_SECONDS)
    await asyncio.sleep(0.3)


async def fanout(target: Target, obj: Any, *, subscribers: int, rounds: int) -> dict[str, Any]:
    """One change at a time to an object with ``subscribers`` subscribers, ``rounds`` times."""
    tally = Tally(subscribers)
    clients = await subscribe_many(target, obj, subscribers, tally)
    markers, per_round, change_ms = [], [], []
    try:
        await warm_up(target, obj, tally)
        for _ in range(rounds):
            marker = new_marker("fan")
            markers.append(marker)
            tally.mark_sent(marker)
            await target.change(obj, marker)
            change_ms.append((time.perf_counter() - tally.sent[marker]) * 1000)
            await tally.wait([marker], DRAIN_SECONDS)
            per_round.append(summary(tally.latencies_ms([marker]))["p99_ms"])
            await asyncio.sleep(0.3)
    finally:
        await close_all(clients)
    expected = subscribers * rounds
    delivered = tally.delivered(markers)
    return {
        "subscribers": subscribers,
        "connect_failures": subscribers - len(clients),
        "rounds": rounds,
        **summary(tally.latencies_ms(markers)),
        "p99_per_round_ms": per_round,
        "change_request_ms": summary(change_ms),
        "delivered": delivered,
        "expected": expected,
        "lost": expected - delivered,
        "duplicates": tally.duplicates,
    }


async def sustained(target: Target, obj: Any, *, subscribers: int, rate: float, seconds: float) -> dict[str, Any]:
    """``rate`` changes per second for ``seconds`` to an object with ``subscribers`` subscribers."""
    tally = Tally(subscribers)
    clients = await subscribe_many(target, obj, subscribers, tally)
    count = round(rate * seconds)
    markers = [new_marker("sus") for _ in range(count)]
    errors = 0

    change_ms: list[float] = []

    async def change(marker: str) -> None:
        nonlocal errors
        tally.mark_sent(marker)
        try:
            await target.change(obj, marker)
        except Exception:
            errors += 1
        change_ms.append((time.perf_counter() - tally.sent[marker]) * 1000)

    try:
        await warm_up(target, obj, tally)
        started = time.perf_counter()
        tasks = []
        for n, marker in enumerate(markers):
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(change(marker)))
        await asyncio.gather(*tasks)
        sending = time.perf_counter() - started
        await tally.wait(markers, DRAIN_SECONDS)
    finally:
        await close_all(clients)
    expected = subscribers * count
    delivered = tally.delivered(markers)
    return {
        "subscribers": subscribers,
        "connect_failures": subscribers - len(clients),
        "changes": count,
        "rate_per_s": rate,
        "achieved_rate_per_s": round(count / sending, 1),
        **summary(tally.latencies_ms(markers)),
        "delivered": delivered,
        "expected": expected,
        "lost": expected - delivered,
        "duplicates": tally.duplicates,
        "change_errors": errors,
        "change_request_ms": summary(change_ms),
    }


async def connections(target: Target, obj: Any, *, count: int, measure_rss: bool = True) -> dict[str, Any]:
    """``count`` idle subscribed sockets; the server process's RSS growth per socket."""
    warmup = await subscribe_many(target, obj, 5, None)
    await close_all(warmup)
    await asyncio.sleep(1)
    before = rss_bytes(target.pid) if measure_rss else 0
    started = time.perf_counter()
    clients: list[Subscriber] = []
    try:
        clients = await subscribe_many(target, obj, count, None)
        ramp = time.perf_counter() - started
        await asyncio.sleep(2)
        after = rss_bytes(target.pid) if measure_rss else 0
        alive = sum(1 for c in clients if c.socket is not None and c.reader is not None and not c.reader.done())
    finally:
        await close_all(clients)
    result: dict[str, Any] = {
        "sockets": count,
        "subscribed": alive,
        "ramp_s": round(ramp, 1),
        "subscribes_per_s": round(count / ramp, 1),
    }
    if measure_rss:
        result |= {
            "rss_before_mb": round(before / 2**20, 1),
            "rss_after_mb": round(after / 2**20, 1),
            "kb_per_socket": round((after - before) / count / 1024, 1),
        }
    return result


async def recovery(target: Target, obj: Any, *, stream: str, head: int, events: int, repeats: int) -> dict[str, Any]:
    """Replay the last ``events`` events of ``stream`` in-band and over REST, ``repeats`` times each."""
    since = head - events
    in_band, rest, counts = [], [], set()
    for _ in range(repeats):
        socket = await target.open()
        try:
            started = time.perf_counter()
            await socket.send(target.subscribe_message(obj, since=since))
            replayed = 0
            while True:
                frame = json.loads(await socket.recv())
                if frame.get("type") == "subscribed":
                    break
                replayed += 1
            in_band.append((time.perf_counter() - started) * 1000)
            counts.add(("ws", replayed, frame.get("recovered")))
        finally:
            await socket.close()
        started = time.perf_counter()
        response = await target.http.get(
            "/api/notifications/", params={"stream": stream, "since": since, "limit": events}
        )
        body = response.json()
        rest.append((time.perf_counter() - started) * 1000)
        counts.add(("rest", len(body.get("results", ())), body.get("recovered")))
    return {
        "events": events,
        "in_band_ms": summary(in_band),
        "rest_ms": summary(rest),
        "complete": counts == {("ws", events, True), ("rest", events, True)},
        "seen": sorted(counts, key=str),
    }


def write_overhead(*, tracked: Any, untracked: Any, saves: int) -> dict[str, Any]:
    """Median time of a tracked ``Foo`` save (log append and publish included) vs an untracked one."""
    from django.db import connection

    timings: dict[str, list[float]] = {"tracked": [], "untracked": []}
    for n in range(saves):
        for name, instance in (("tracked", tracked), ("untracked", untracked)):
            instance.bar = f"w{n}"
            started = time.perf_counter()
            instance.save()
            timings[name].append((time.perf_counter() - started) * 1000)
    tracked_ms, untracked_ms = statistics.median(timings["tracked"]), statistics.median(timings["untracked"])
    return {
        "saves": saves,
        "database": connection.vendor,
        "tracked_median_ms": round(tracked_ms, 3),
        "untracked_median_ms": round(untracked_ms, 3),
        "ratio": round(tracked_ms / untracked_ms, 2),
    }
