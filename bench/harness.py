"""``python -m bench``: set up a fresh bench database, start each server in turn, run the scenarios, report.

The scaling scenarios (``bench.scaling``) run after the others, for this project only, with their own processes.

Each target runs alone on this machine: one server process (daphne for the
Django servers) on Redis and PostgreSQL, with this process as the load
generator. Results go to stdout as a table and to
``bench/results/bench-<time>.json``. Environment:

* ``BENCH_DATABASE_URL`` (default ``postgres://postgres@127.0.0.1:5432/realtime_bench``):
  dropped and created afresh on every run, so never point it at data you keep;
* ``BENCH_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``) and
  ``CHANNEL_LAYER_PREFIX`` (default ``bench``) to keep off other users' channels.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import secrets
import sys
import time
from pathlib import Path
from typing import Any

from bench import report, scenarios
from bench.scaling import SCALING, prepare, run_scaling
from bench.targets import (
    ROOT,
    BareTarget,
    DcrfTarget,
    OursTarget,
    ServerProcess,
    Spawner,
    Target,
    daphne_command,
    free_port,
    profiled,
    uvicorn_command,
)

RESULTS = ROOT / "bench" / "results"

SCALES: dict[str, dict[str, dict[str, Any]]] = {
    "full": {
        "fanout": {"subscribers": 1000, "rounds": 10},
        "sustained": {"subscribers": 100, "rate": 50, "seconds": 10},
        "connections": {"count": 10_000},
        "recovery": {"events": 1000, "repeats": 5},
        "write": {"saves": 500},
        "subscribe": {"sockets": 1000, "per_socket": 5, "objects": 100, "pings": 5},
        "storm": {"sockets": 5000, "per_socket": 4, "streams": 20, "changes": 10, "timeout": 300.0},
        "fanout4": {"processes": 4, "subscribers": 1000, "rounds": 10},
        "lists": {"users": 100, "sockets_per_user": 10, "rounds": 10},
    },
    "small": {
        "fanout": {"subscribers": 200, "rounds": 5},
        "sustained": {"subscribers": 50, "rate": 20, "seconds": 3},
        "connections": {"count": 1000},
        "recovery": {"events": 200, "repeats": 3},
        "write": {"saves": 100},
        "subscribe": {"sockets": 200, "per_socket": 5, "objects": 50, "pings": 5},
        "storm": {"sockets": 1000, "per_socket": 4, "streams": 20, "changes": 10},
        "fanout4": {"processes": 4, "subscribers": 200, "rounds": 5},
        "lists": {"users": 20, "sockets_per_user": 10, "rounds": 5},
    },
    "smoke": {
        "fanout": {"subscribers": 10, "rounds": 2},
        "sustained": {"subscribers": 5, "rate": 10, "seconds": 1},
        "connections": {"count": 20},
        "recovery": {"events": 20, "repeats": 1},
        "write": {"saves": 5},
        "subscribe": {"sockets": 5, "per_socket": 3, "objects": 6, "pings": 2},
        "storm": {"sockets": 6, "per_socket": 2, "streams": 3, "changes": 2, "timeout": 60.0},
        "fanout4": {"processes": 2, "subscribers": 6, "rounds": 2},
        "lists": {"users": 3, "sockets_per_user": 2, "rounds": 2},
    },
}
TARGETS = ("ours", "ours-core", "ours-uvicorn", "dcrf", "bare")
SCENARIOS = ("fanout", "sustained", "connections", "recovery", "write", *SCALING)
#: What the servers need for the bench's load: one user with thousands of sockets and messages.
LIMITS = {
    "REALTIME_RATE_LIMIT": "1000",
    "REALTIME_RATE_BURST": "1000",
    "REALTIME_MAX_SOCKETS_PER_USER": "0",
    "REALTIME_USER_RATE_LIMIT": "1000000",
    "REALTIME_USER_RATE_BURST": "1000000",
}


def raise_fd_limit() -> int:
    """Raise the soft open-files limit to the hard one (servers started later inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# --- database and fixtures -----------------------------------------------------


def recreate_database(url: str) -> None:
    """Drop and create the bench database (PostgreSQL), or delete the file (SQLite)."""
    import dj_database_url
    import psycopg

    config = dj_database_url.parse(url)
    if config["ENGINE"].endswith("sqlite3"):
        Path(config["NAME"]).unlink(missing_ok=True)
        return
    name = config["NAME"]
    admin = psycopg.connect(
        host=config["HOST"] or "127.0.0.1",
        port=config["PORT"] or 5432,
        user=config["USER"],
        password=config["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


def setup_django(database_url: str, redis_url: str, layer: str) -> dict[str, str]:
    """Point this process at the bench database and Redis, migrate, and return the servers' environment."""
    server_env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CHANNEL_LAYER": layer,
        "CHANNEL_LAYER_PREFIX": os.environ.get("CHANNEL_LAYER_PREFIX", "bench"),
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "HASHIDS_SALT": secrets.token_urlsafe(16),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        # As docs/deployment.md recommends for PostgreSQL: pooled connections (ignored on SQLite).
        **({"DB_POOL_SIZE": "8"} if database_url.startswith("postgres") else {}),
        **LIMITS,
        "REALTIME_METRICS_TOKEN": secrets.token_urlsafe(24),
    }
    os.environ.update(server_env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.dcrf.settings"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    return server_env


def seed(*, history: int, widget: bool = True) -> dict[str, Any]:
    """A user with a token, a Foo with ``history`` logged changes, and (for DCRF) a Widget; their ids."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from api.models import Foo
    from realtime.ids import encode_id
    from realtime.registry import registry

    user = get_user_model().objects.create_user("bench", password="bench-pw")
    token = Token.objects.create(user=user).key
    foo = Foo.objects.create(owner=user, name="bench object", bar="")
    replay = Foo.objects.create(owner=user, name="bench history", bar="")
    for n in range(history):
        # One transaction per change: changes of one object in one transaction are one event.
        replay.bar = f"h{n}"
        replay.save()
    fixtures = {
        "token": token,
        "foo": encode_id(foo.pk),
        "history_foo": encode_id(replay.pk),
        "history_stream": registry.stream_for(replay).name,
        "history_head": 1 + history,
    }
    if widget:
        from bench.dcrf.models import Widget

        fixtures["widget"] = Widget.objects.create(owner=user, name="bench object", bar="").pk
    return fixtures


# --- targets -------------------------------------------------------------------


def start_writer(kind: str, *, env: dict[str, str]) -> ServerProcess | None:
    """A second daphne process of the same server, to take the REST writes of ``sustained_split``."""
    if kind == "bare":
        return None
    application = "bench.dcrf.asgi:application" if kind == "dcrf" else "project.asgi:application"
    settings = "bench.dcrf.settings" if kind == "dcrf" else "project.settings"
    layer = "core" if kind == "ours-core" else "pubsub"
    server = ServerProcess(
        [*daphne_command(), application],
        port=free_port(),
        env={**env, "DJANGO_SETTINGS_MODULE": settings, "CHANNEL_LAYER": layer},
    )
    return server.start()


def start_target(kind: str, *, env: dict[str, str], fixtures: dict[str, Any], profile: Path | None) -> tuple:
    port = free_port()
    if kind == "bare":
        server = ServerProcess([sys.executable, "-m", "bench.bare", "{port}"], port=port, env={}, http=False)
        server.start()
        return server, BareTarget("bare websockets", port, server.pid), "bench-object"
    if kind == "dcrf":
        command = [*daphne_command(), "bench.dcrf.asgi:application"]
        server = ServerProcess(command, port=port, env={**env, "DJANGO_SETTINGS_MODULE": "bench.dcrf.settings"})
        server.start()
        target = DcrfTarget("djangochannelsrestframework", port, server.pid, fixtures["token"], "/ws/dcrf/")
        return server, target, fixtures["widget"]
    layer = "core" if kind == "ours-core" else "pubsub"
    command = [*(uvicorn_command() if kind == "ours-uvicorn" else daphne_command()), "project.asgi:application"]
    if profile is not None:
        command = profiled(command, output=profile)
    server = ServerProcess(command, port=port, env={**env, "CHANNEL_LAYER": layer})
    server.start()
    label = f"this project ({layer}{', uvicorn' if kind == 'ours-uvicorn' else ''})"
    target = OursTarget(label, port, server.pid, fixtures["token"])
    return server, target, fixtures["foo"]


async def run_target(
    target: Target,
    obj: Any,
    *,
    scale: dict[str, dict[str, Any]],
    wanted: list[str],
    fixtures: dict[str, Any],
    rss: bool,
    writer_port: int | None = None,
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    try:
        if "fanout" in wanted:
            results["fanout"] = await scenarios.fanout(target, obj, **scale["fanout"])
            report.progress(target.name, "fanout", results["fanout"])
        if "sustained" in wanted:
            results["sustained"] = await scenarios.sustained(target, obj, **scale["sustained"])
            report.progress(target.name, "sustained", results["sustained"])
            if writer_port is not None:
                # The same load with the REST writes served by a second process: delivery only on this one.
                await target.write_through(writer_port)
                results["sustained_split"] = await scenarios.sustained(target, obj, **scale["sustained"])
                await target.write_through(None)
                report.progress(target.name, "sustained_split", results["sustained_split"])
        # Recovery before the 10,000 sockets: their teardown keeps the server busy for a while.
        if "recovery" in wanted and isinstance(target, OursTarget):
            results["recovery"] = await scenarios.recovery(
                target,
                fixtures["history_foo"],
                stream=fixtures["history_stream"],
                head=fixtures["history_head"],
                **scale["recovery"],
            )
            report.progress(target.name, "recovery", results["recovery"])
        if "connections" in wanted:
            results["connections"] = await scenarios.connections(target, obj, **scale["connections"], measure_rss=rss)
            report.progress(target.name, "connections", results["connections"])
    finally:
        await target.aclose()
    return results


def run_write_overhead(saves: int) -> dict[str, Any]:
    """Scenario 5 twice: publishing to an in-memory layer (the save and its log append alone), then to Redis."""
    from django.test import override_settings

    from api.models import Foo
    from bench.dcrf.models import Widget

    tracked = Foo.objects.get(name="bench object")
    untracked = Widget.objects.get(name="bench object")
    with override_settings(CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}):
        local = scenarios.write_overhead(tracked=tracked, untracked=untracked, saves=saves)
    redis = scenarios.write_overhead(tracked=tracked, untracked=untracked, saves=saves)
    return {**local, "with_redis_publish": redis}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="full")
    parser.add_argument("--targets", default=",".join(TARGETS), help=f"comma-separated, of {', '.join(TARGETS)}")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help=f"comma-separated, of {', '.join(SCENARIOS)}")
    parser.add_argument("--profile", action="store_true", help="run this project's server under py-spy")
    args = parser.parse_args(argv)
    targets = [t for t in args.targets.split(",") if t]
    wanted = [s for s in args.scenarios.split(",") if s]
    unknown = (set(targets) - set(TARGETS)) | (set(wanted) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown target or scenario: {', '.join(sorted(unknown))}")
    scale = SCALES[args.scale]

    fd_limit = raise_fd_limit()
    database_url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/realtime_bench")
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    print(f"bench: scale={args.scale} targets={','.join(targets)} fd limit={fd_limit}", flush=True)
    recreate_database(database_url)
    env = setup_django(database_url, redis_url, "pubsub")
    fixtures = seed(history=scale["recovery"]["events"])
    scaling_fixtures = prepare(wanted, scale) if "ours" in targets else {}
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")

    results: dict[str, Any] = {}
    standard = [scenario for scenario in wanted if scenario not in SCALING and scenario != "write"]
    for kind in targets if standard else []:
        profile = RESULTS / f"profile-{kind}-{stamp}.txt" if args.profile and kind.startswith("ours") else None
        server, target, obj = start_target(kind, env=env, fixtures=fixtures, profile=profile)
        writer = start_writer(kind, env=env) if "sustained" in wanted else None
        try:
            results[kind] = asyncio.run(
                run_target(
                    target,
                    obj,
                    scale=scale,
                    wanted=wanted,
                    fixtures=fixtures,
                    rss=profile is None,
                    writer_port=writer.port if writer else None,
                )
            )
        except Exception as exc:  # one target failing must not lose the others' numbers
            print(f"  {target.name}: FAILED {exc!r}\n{server.output()[-2000:]}", flush=True)
            results[kind] = {"error": repr(exc)}
        finally:
            results[kind]["name"] = target.name
            server.stop()
            if writer is not None:
                writer.stop()
        if profile is not None and profile.exists():
            results[kind]["profile"] = report.profile_summary(profile)
    if "ours" in targets and set(wanted) & set(SCALING):
        results.setdefault("ours", {"name": "this project (pubsub)"}).update(
            asyncio.run(
                run_scaling(
                    wanted,
                    scale=scale,
                    spawner=Spawner(env),
                    token=fixtures["token"],
                    fixtures=scaling_fixtures,
                    obj=fixtures["foo"],
                    metrics_token=env["REALTIME_METRICS_TOKEN"],
                    profile=lambda scenario: RESULTS / f"profile-{scenario}-{stamp}.txt" if args.profile else None,
                    progress=lambda scenario, numbers: report.progress("this project (pubsub)", scenario, numbers),
                )
            )
        )
    if "write" in wanted and any(kind.startswith("ours") for kind in targets):
        results.setdefault("ours", {"name": "this project (pubsub)"})["write"] = run_write_overhead(**scale["write"])

    document = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "scale": args.scale,
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_at_end": os.getloadavg(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "results": results,
        "ratios": report.ratios(results),
    }
    path = RESULTS / f"bench-{stamp}.json"
    path.write_text(json.dumps(document, indent=2))
    print(report.table(document))
    print(f"\nJSON: {path.relative_to(ROOT)}")
    return 0
