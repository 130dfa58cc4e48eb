"""The scaling scenarios of issues 13 and 14: each starts the daphne processes it needs, runs, and stops them.

* ``subscribe``: one process (``bench.subscribe``);
* ``storm``: the process that is killed and restarted, and a second one for the writes (``bench.storm``),
  after the reference: the same number of clients of a bare ASGI application on daphne (``bench.bare_asgi``);
* ``fanout4``: several processes on Redis and the bare server (``bench.multi``);
* ``lists``: the delivering process and a second one for the writes (``bench.live_lists``).

Every process is this project on daphne with the pub/sub layer, in the
environment the harness gives (``spawner``). With ``profile`` set, the
delivering process of each scenario (not the one the storm kills) runs under
py-spy and the summary of its profile is added to the results (the storm's
killed process: py-spy attaches to it once restarted, while its clients
catch up after the kill).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import live_lists, multi, report, storm, subscribe
from bench.seeding import seed_foos, seed_listers
from bench.targets import BareTarget, OursTarget, ServerProcess, Spawner, daphne_command, free_port

SCALING = ("subscribe", "storm", "fanout4", "lists")


def prepare(wanted: list[str], scale: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The objects and users the wanted scenarios need (in the bench database, before any server starts)."""
    fixtures: dict[str, Any] = {}
    if "subscribe" in wanted:
        fixtures["subscribe"] = seed_foos(count=scale["subscribe"]["objects"], prefix="subscribe")
    if "storm" in wanted:
        fixtures["storm"] = seed_foos(count=scale["storm"]["streams"], prefix="storm")
    if "lists" in wanted:
        fixtures["lists"] = seed_listers(users=scale["lists"]["users"])
    return fixtures


async def run_scaling(
    wanted: list[str],
    *,
    scale: dict[str, dict[str, Any]],
    spawner: Spawner,
    token: str,
    fixtures: dict[str, Any],
    obj: str,
    metrics_token: str,
    profile: Callable[[str], Path | None] = lambda scenario: None,
    progress: Callable[[str, dict[str, Any]], None] = lambda scenario, numbers: None,
) -> dict[str, Any]:
    """Run the wanted scaling scenarios one after the other; a failing one is reported, the others still run."""
    results: dict[str, Any] = {}
    for scenario in SCALING:
        if scenario not in wanted:
            continue
        path = profile(scenario)
        try:
            runner = RUNNERS[scenario]
            results[scenario] = await runner(
                spawner,
                token=token,
                fixtures=fixtures,
                obj=obj,
                sizes=scale[scenario],
                metrics_token=metrics_token,
                profile=path,
            )
        except Exception as exc:  # one scenario failing must not lose the others' numbers
            outputs = "\n".join(server.output()[-1500:] for server in spawner.started)
            print(f"  {scenario}: FAILED {exc!r}\n{outputs}", flush=True)
            results[scenario] = {"error": repr(exc)}
        finally:
            spawner.stop_all()
        if path is not None and path.exists():
            results[scenario]["profile"] = report.profile_summary(path)
        progress(scenario, results[scenario])
    return results


def target(server: ServerProcess, token: str, name: str = "this project (pubsub)") -> OursTarget:
    return OursTarget(name, server.port, server.pid, token)


async def run_subscribe(spawner: Spawner, *, token: str, fixtures: dict, sizes: dict, profile: Path | None, **_: Any):
    server = spawner(profile=profile)
    ours = target(server, token)
    try:
        return await subscribe.subscribe(
            ours, fixtures["subscribe"], sockets=sizes["sockets"], per_socket=sizes["per_socket"], pings=sizes["pings"]
        )
    finally:
        await ours.aclose()


async def run_storm(
    spawner: Spawner, *, token: str, fixtures: dict, sizes: dict, metrics_token: str, profile: Path | None, **_: Any
):
    bare = ServerProcess([*daphne_command(), "bench.bare_asgi:application"], port=free_port(), env={}, http=False)
    try:
        floor = await storm.daphne_floor(bare.start(), sockets=sizes["sockets"])
    finally:
        bare.stop()
    server, writer = spawner(), spawner()
    ours, writes = target(server, token), target(writer, token)
    try:
        result = await storm.storm(
            server,
            ours,
            writes,
            fixtures["storm"],
            sockets=sizes["sockets"],
            per_socket=sizes["per_socket"],
            changes=sizes["changes"],
            catch_up_within=sizes.get("timeout", 120.0),
            profile=profile,
            metrics_token=metrics_token,
        )
    finally:
        await ours.aclose()
        await writes.aclose()
    return {**result, "daphne_floor": floor}


async def run_fanout4(spawner: Spawner, *, token: str, obj: str, sizes: dict, profile: Path | None, **_: Any):
    servers = [spawner(profile=profile if n == 0 else None) for n in range(sizes["processes"])]
    targets = [target(server, token, f"this project, process {n}") for n, server in enumerate(servers)]
    port = free_port()
    bare_server = ServerProcess([sys.executable, "-m", "bench.bare", "{port}"], port=port, env={}, http=False)
    spawner.started.append(bare_server.start())
    bare = BareTarget("bare websockets", port, bare_server.pid)
    try:
        return await multi.fanout4(targets, obj, bare, subscribers=sizes["subscribers"], rounds=sizes["rounds"])
    finally:
        for one in [*targets, bare]:
            await one.aclose()


async def run_lists(
    spawner: Spawner, *, token: str, fixtures: dict, sizes: dict, metrics_token: str, profile: Path | None, **_: Any
):
    # The watcher's periodic list sync would add its own queries to the count; it is what catches lost
    # messages, and none are lost here. Without Redis (the smoke test's in-memory layers) it is the only way the
    # writer's changes reach the delivering process, so it stays on there (the idle count takes its queries out).
    sync_off = {"REALTIME_SYNC_INTERVAL": "3600"} if spawner.redis_url() else {}
    delivering, writer = spawner(profile=profile, **sync_off), spawner()
    ours, writes = target(delivering, token), target(writer, token)
    try:
        return await live_lists.lists(
            ours,
            writes,
            shared=fixtures["lists"]["shared"],
            tokens=fixtures["lists"]["tokens"],
            sockets_per_user=sizes["sockets_per_user"],
            rounds=sizes["rounds"],
            metrics_token=metrics_token,
        )
    finally:
        await ours.aclose()
        await writes.aclose()


RUNNERS = {"subscribe": run_subscribe, "storm": run_storm, "fanout4": run_fanout4, "lists": run_lists}
