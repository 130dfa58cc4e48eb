"""Push worker throughput: deliveries/s from ``manage.py pushworker`` processes to a local webhook receiver.

Usage (PostgreSQL; the script creates and drops its own scratch database
``<name>_pushbench`` next to the one ``DATABASE_URL`` names)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/wt_push .venv/bin/python bench/push_throughput.py
    ... --deliveries 4000 --workers 1 2 4 --batch-size 50

For each worker count it starts the workers (idle), queues ``--deliveries``
webhook deliveries in one transaction through the real outbox path, and
takes the time from that commit to the last recorded outcome (the
deliveries' own ``updated_at``). The receiver runs in its own process, checks
every HMAC signature and counts each idempotency key, so the report also
gives the double-claim count (deliveries attempted more than once) and the
duplicate count (keys received more than once); both must be 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

SECRET = "bench-webhook-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def receiver_main(port: int, ready: multiprocessing.Event, results: multiprocessing.Queue, stop: multiprocessing.Event):
    """A keep-alive HTTP/1.1 webhook consumer on asyncio streams: verify, count, answer 204."""
    from realtime.push.signing import webhook_verify

    seen: Counter[str] = Counter()
    bad = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal bad
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                headers = {}
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    if ":" in line:
                        key, value = line.split(":", 1)
                        headers[key.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                if webhook_verify(secret=SECRET, body=body, header=headers.get("x-realtime-signature", "")):
                    seen[headers.get("x-realtime-delivery", "")] += 1
                    writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                else:
                    bad += 1
                    writer.write(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
        ready.set()
        await asyncio.to_thread(stop.wait)
        server.close()
        results.put(
            {
                "received": sum(seen.values()),
                "keys": len(seen),
                "duplicates": sum(1 for n in seen.values() if n > 1),
                "bad_signatures": bad,
            }
        )

    asyncio.run(main())


def start_workers(count: int, *, env: dict[str, str], batch_size: int) -> list[tuple[subprocess.Popen, Path]]:
    workers = []
    for n in range(count):
        log = Path(tempfile.mkstemp(prefix="pushbench-", suffix=".log")[1])
        process = subprocess.Popen(
            [sys.executable, "manage.py", "pushworker", "--name", f"bench{n}", "--batch-size", str(batch_size)],
            cwd=ROOT,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        workers.append((process, log))
    deadline = time.monotonic() + 60
    while not all("sending" in log.read_text() for _, log in workers):  # the start-up line, printed at any LOG_LEVEL
        if time.monotonic() > deadline or any(p.poll() is not None for p, _ in workers):
            output = "\n".join(log.read_text() for _, log in workers)
            stop_workers(workers)
            raise SystemExit(f"workers did not start:\n{output}")
        time.sleep(0.05)
    return workers


def stop_workers(workers: list[tuple[subprocess.Popen, Path]]) -> None:
    for process, _ in workers:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process, log in workers:
        process.wait(timeout=60)
        log.unlink(missing_ok=True)


def run(*, workers: int, deliveries: int, devices: int, batch_size: int, database_url: str) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.db.models import Max

    from realtime.events import EventRegistry
    from realtime.push.models import Delivery, Device
    from realtime.push.outbox import deliveries_enqueue  # noqa: F401  (the outbox is connected by the app)

    events = EventRegistry("bench")
    event = events.define("push:bench", action_type="CREATE_NOTIFICATION")
    Delivery.objects.all().delete()
    Device.objects.all().delete()
    user, _ = get_user_model().objects.get_or_create(username="pushbench")

    port = free_port()
    ready, stop, results = multiprocessing.Event(), multiprocessing.Event(), multiprocessing.Queue()
    receiver = multiprocessing.Process(target=receiver_main, args=(port, ready, results, stop), daemon=True)
    receiver.start()
    ready.wait(10)
    Device.objects.bulk_create(
        Device(user=user, kind="webhook", address=f"http://127.0.0.1:{port}/hook/{n}", secret=SECRET)
        for n in range(devices)
    )
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REALTIME_PUSH_IDLE_SECONDS": "0.05",
        "REALTIME_PUSH_ALLOWED_INTERNAL_NETWORKS": "127.0.0.1/32",  # the receiver is on loopback, refused otherwise
        "LOG_LEVEL": "WARNING",
    }
    procs = start_workers(workers, env=env, batch_size=batch_size)
    try:
        with transaction.atomic():
            for n in range(deliveries // devices):
                events.send(event, users=[user], title=f"bench {n}", body="x" * 100, push=True)
        started = time.time()
        deadline = time.monotonic() + 600
        while Delivery.objects.exclude(status="sent").exists():
            if time.monotonic() > deadline:
                raise SystemExit("deliveries not all sent within 600 s")
            time.sleep(0.05)
        finished = Delivery.objects.aggregate(last=Max("updated_at"))["last"].timestamp()
    finally:
        stop_workers(procs)
        stop.set()
    received = results.get(timeout=10)
    receiver.join(10)
    total = Delivery.objects.count()
    elapsed = finished - started
    return {
        "workers": workers,
        "batch_size": batch_size,
        "deliveries": total,
        "seconds": round(elapsed, 3),
        "deliveries_per_s": round(total / elapsed, 1),
        "double_claims": Delivery.objects.filter(attempts__gt=1).count(),
        **received,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--devices", type=int, default=20, help="Webhook devices (deliveries per notification).")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch-size", type=int, default=20)
    args = parser.parse_args()

    import django
    from django.conf import settings
    from django.db import connection

    django.setup()
    if connection.vendor != "postgresql":
        raise SystemExit("Set DATABASE_URL=postgres://...: the benchmark measures workers on PostgreSQL.")
    original = settings.DATABASES["default"]["NAME"]
    name = f"{original}_pushbench"
    connection.settings_dict["TEST"]["NAME"] = name
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    database_url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + f"/{name}"
    try:
        rows = [
            run(
                workers=n,
                deliveries=args.deliveries,
                devices=args.devices,
                batch_size=args.batch_size,
                database_url=database_url,
            )
            for n in args.workers
        ]
    finally:
        connection.creation.destroy_test_db(original, verbosity=0)
    columns = [("workers", 7), ("batch_size", 10), ("deliveries", 10), ("seconds", 8), ("deliveries_per_s", 16)]
    columns += [("double_claims", 13), ("duplicates", 10)]
    print(" ".join(f"{name:>{width}}" for name, width in columns))
    for row in rows:
        print(" ".join(f"{row[name]:>{width}}" for name, width in columns))
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
