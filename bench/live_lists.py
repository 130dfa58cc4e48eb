"""Scenario ``lists`` (issue 13): one change reaching many live-list subscribers, against single-object fan-out.

``users`` users with ``sockets_per_user`` sockets each subscribe to their
list of Foos shared with them (``{"role": "member"}``); every user is a
member of a different subset of Foos, and all of them of the one that
changes. Each change is a REST ``PATCH`` by the owner served by a second
process, so the delivering process's database work is the consumers' own:
``realtime_db_queries_total`` from its ``/metrics`` before and after the
rounds (minus what it counts while idle for as long) gives the queries per
event. The same sockets' users then subscribe to the object itself (the
single-object fan-out) for the same rounds, in the same run.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.client import Subscriber, Tally, close_all, start_all, summary
from bench.scenarios import DRAIN_SECONDS, new_marker, warm_up
from bench.targets import ListsTarget, OursTarget

QUERIES = "realtime_db_queries_total"


async def rounds_of(
    targets: list[OursTarget],
    obj: Any,
    changer: OursTarget,
    changed: str,
    *,
    sockets_per_user: int,
    rounds: int,
    metrics_token: str,
) -> dict[str, Any]:
    """Subscribe ``sockets_per_user`` sockets per target to ``obj``; ``rounds`` changes of ``changed``."""
    subscribers = len(targets) * sockets_per_user
    tally = Tally(subscribers)
    clients = await start_all([Subscriber(t, obj, tally) for t in targets for _ in range(sockets_per_user)], tally)
    delivering = targets[0]
    markers, per_round = [], []
    try:
        await warm_up(changer, changed, tally)
        queries_from = await delivering.metric(QUERIES, token=metrics_token)
        rounds_started = time.perf_counter()
        for _ in range(rounds):
            marker = new_marker("list")
            markers.append(marker)
            tally.mark_sent(marker)
            await changer.change(changed, marker)
            await tally.wait([marker], DRAIN_SECONDS)
            per_round.append(summary(tally.latencies_ms([marker]))["p99_ms"])
            await asyncio.sleep(0.3)
        queries = await delivering.metric(QUERIES, token=metrics_token) - queries_from
        rounds_s = time.perf_counter() - rounds_started
        # The same time without changes: what the process queries on its own (watcher ticks) and per scrape.
        idle_from = await delivering.metric(QUERIES, token=metrics_token)
        idle_started = time.perf_counter()
        await asyncio.sleep(rounds_s)
        idle = await delivering.metric(QUERIES, token=metrics_token) - idle_from
        idle_s = time.perf_counter() - idle_started
    finally:
        await close_all(clients)
    expected = len(clients) * rounds
    delivered = tally.delivered(markers)
    idle_per_s = idle / idle_s if idle_s else 0.0
    return {
        "users": len(targets),
        "subscribers": subscribers,
        "connect_failures": subscribers - len(clients),
        "rounds": rounds,
        **summary(tally.latencies_ms(markers)),
        "p99_per_round_ms": per_round,
        "delivered": delivered,
        "expected": expected,
        "lost": expected - delivered,
        "duplicates": tally.duplicates,
        "queries_during_rounds": queries,
        "queries_idle_same_time": idle,
        "queries_per_event": round(max(0.0, queries - idle_per_s * rounds_s) / rounds, 1),
    }


async def lists(
    delivering: OursTarget,
    writer: OursTarget,
    *,
    shared: str,
    tokens: list[str],
    sockets_per_user: int,
    rounds: int,
    metrics_token: str,
) -> dict[str, Any]:
    """Live-list fan-out of changes to ``shared`` (writes through ``writer``), then single-object fan-out."""
    listing = ListsTarget(delivering.name, delivering.port, delivering.pid)
    as_list = await rounds_of(
        [listing.as_user(token) for token in tokens],
        {"role": "member"},
        writer,
        shared,
        sockets_per_user=sockets_per_user,
        rounds=rounds,
        metrics_token=metrics_token,
    )
    as_object = await rounds_of(
        [delivering.as_user(token) for token in tokens],
        shared,
        writer,
        shared,
        sockets_per_user=sockets_per_user,
        rounds=rounds,
        metrics_token=metrics_token,
    )
    return {
        "lists": as_list,
        "object": as_object,
        "p50_vs_object": _ratio(as_list["p50_ms"], as_object["p50_ms"]),
        "p99_vs_object": _ratio(as_list["p99_ms"], as_object["p99_ms"]),
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None
