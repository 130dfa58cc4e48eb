"""Scenario ``fanout4`` (issue 14): one change fanned out by several daphne processes on Redis, against bare.

``subscribers`` subscribers of one object are spread evenly over the
processes (``targets``); each change is a REST ``PATCH`` served by the first
process, and reaches the others through Redis. Latency is measured as in
``fanout`` (from the change being sent to each frame arriving). The same
number of subscribers then takes the same rounds from the bare websockets
server (``bare``), in the same run.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.client import Subscriber, Tally, close_all, start_all, summary
from bench.scenarios import DRAIN_SECONDS, new_marker, warm_up
from bench.targets import BareTarget, OursTarget


async def fanout_over(targets: list[OursTarget], obj: str, *, subscribers: int, rounds: int) -> dict[str, Any]:
    """``subscribers`` spread over ``targets``, changed through the first one, ``rounds`` times."""
    tally = Tally(subscribers)
    clients = await start_all([Subscriber(targets[n % len(targets)], obj, tally) for n in range(subscribers)], tally)
    writer = targets[0]
    markers, per_round = [], []
    try:
        await warm_up(writer, obj, tally)
        for _ in range(rounds):
            marker = new_marker("fan4")
            markers.append(marker)
            tally.mark_sent(marker)
            await writer.change(obj, marker)
            await tally.wait([marker], DRAIN_SECONDS)
            per_round.append(summary(tally.latencies_ms([marker]))["p99_ms"])
            await asyncio.sleep(0.3)
    finally:
        await close_all(clients)
    expected = len(clients) * rounds
    delivered = tally.delivered(markers)
    return {
        "processes": len(targets),
        "subscribers": subscribers,
        "connect_failures": subscribers - len(clients),
        "rounds": rounds,
        **summary(tally.latencies_ms(markers)),
        "p99_per_round_ms": per_round,
        "delivered": delivered,
        "expected": expected,
        "lost": expected - delivered,
        "duplicates": tally.duplicates,
    }


async def fanout4(
    targets: list[OursTarget], obj: str, bare: BareTarget, *, subscribers: int, rounds: int
) -> dict[str, Any]:
    """Fan-out over ``targets``, then on one of them alone, then on the bare server: same sizes, same run."""
    from bench.scenarios import fanout

    started = time.perf_counter()
    spread = await fanout_over(targets, obj, subscribers=subscribers, rounds=rounds)
    one = await fanout_over(targets[:1], obj, subscribers=subscribers, rounds=rounds)
    reference = await fanout(bare, "bench-object", subscribers=subscribers, rounds=rounds)
    return {
        "spread": spread,
        "one_process": one,
        "bare": reference,
        "p50_vs_bare": _ratio(spread["p50_ms"], reference["p50_ms"]),
        "p99_vs_bare": _ratio(spread["p99_ms"], reference["p99_ms"]),
        "p99_vs_one_process": _ratio(spread["p99_ms"], one["p99_ms"]),
        "one_process_p99_vs_bare": _ratio(one["p99_ms"], reference["p99_ms"]),
        "seconds": round(time.perf_counter() - started, 1),
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None
