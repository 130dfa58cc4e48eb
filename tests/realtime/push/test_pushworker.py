"""``manage.py pushworker`` as real processes: burst runs, SIGTERM, parallel workers and SIGKILL on PostgreSQL.

Workers run as subprocesses against the test database (committed rows, so
``transaction=True``) and deliver to a local webhook receiver that checks
every signature. Counting what the receiver got, per idempotency key, is
how "exactly once" and "nothing stuck" are proven.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from realtime.push.models import Delivery, Device
from realtime.push.signing import webhook_verify
from tests.realtime.push.helpers import LOOPBACK, push
from tests.realtime.push.servers import HTTPReceiver, Received, Reply
from tests.servers import ROOT, settings_module_for_tests
from tests.servers import database_url_for_tests as database_url

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "webhook-secret-for-tests"


class WorkerProcess:
    def __init__(self, *args: str, **env: str) -> None:
        self.log = tempfile.NamedTemporaryFile(prefix="pushworker-", suffix=".log", delete=False)  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "pushworker", *args],
            cwd=ROOT,
            env={
                **os.environ,
                "DATABASE_URL": database_url(),
                "DJANGO_SETTINGS_MODULE": settings_module_for_tests(),
                "PYTHONUNBUFFERED": "1",
                "REALTIME_PUSH_IDLE_SECONDS": "0.05",
                "REALTIME_PUSH_ALLOWED_INTERNAL_NETWORKS": LOOPBACK,  # the local receivers
                **env,
            },
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")[-5000:]

    def started(self) -> bool:
        return "started" in self.output()

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float = 60) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"pushworker did not exit within {timeout}s:\n{self.output()}")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


@pytest.fixture
def workers() -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start(*args: str, **env: str) -> WorkerProcess:
        worker = WorkerProcess(*args, **env)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill()


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str, logs: Callable[[], str] = str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}\n{logs()}")
        time.sleep(0.05)


def signed_receiver(delay: float = 0.0) -> HTTPReceiver:
    """A webhook consumer that accepts only correctly signed requests."""

    def handle(request: Received) -> Reply:
        ok = webhook_verify(secret=SECRET, body=request.body, header=request.headers["x-realtime-signature"])
        return Reply(204 if ok else 401)

    return HTTPReceiver(handle, delay=delay)


def queue_webhooks(user, receiver: HTTPReceiver, *, devices: int, notifications: int) -> int:
    for n in range(devices):
        Device.objects.create(user=user, kind="webhook", address=f"{receiver.url}/hook/{n}", secret=SECRET)
    for n in range(notifications):
        push(user, title=f"notification {n}")
    return Delivery.objects.count()


def all_sent() -> bool:
    return not Delivery.objects.exclude(status="sent").exists()


def test_a_burst_worker_sends_everything_and_exits(alice, workers):
    """`pushworker --burst` (any database, SQLite included) sends every due delivery, then exits 0."""
    with signed_receiver() as receiver:
        total = queue_webhooks(alice, receiver, devices=4, notifications=5)
        worker = workers("--burst")
        assert worker.wait() == 0, worker.output()
    assert total == 20
    assert all_sent(), worker.output()
    assert sorted(receiver.count(lambda r: r.headers["x-realtime-delivery"]).values()) == [1] * total


def test_sigterm_finishes_the_batch_in_flight_and_exits_cleanly(alice, workers):
    """SIGTERM mid-batch: the batch is sent and recorded, nothing is left leased, the exit code is 0."""
    with signed_receiver(delay=0.5) as receiver:
        total = queue_webhooks(alice, receiver, devices=1, notifications=10)
        worker = workers("--batch-size", "4")
        wait_until(lambda: receiver.received, timeout=60, what="the first request", logs=worker.output)
        worker.signal(signal.SIGTERM)
        assert worker.wait() == 0, worker.output()
    statuses = list(Delivery.objects.values_list("status", flat=True))
    assert "sending" not in statuses
    sent = statuses.count("sent")
    assert sent == len(receiver.received), "every request made was recorded"
    assert 0 < sent < total, "stopped before the queue was empty"
    assert statuses.count("pending") == total - sent


def test_a_bad_configuration_stops_the_worker_at_start_up(workers):
    """A malformed VAPID key makes pushworker exit non-zero with a message naming the variable."""
    worker = workers("--burst", REALTIME_PUSH_VAPID_PRIVATE_KEY="garbage", REALTIME_PUSH_VAPID_SUBJECT="mailto:a@b.c")
    assert worker.wait() != 0
    assert "REALTIME_PUSH_VAPID_PRIVATE_KEY" in worker.output()


@pytest.mark.postgres
def test_two_workers_deliver_500_each_exactly_once(alice, workers):
    """Two workers racing over 500 deliveries: every one sent once, no delivery ever claimed twice."""
    with signed_receiver(delay=0.005) as receiver:
        pair = [workers("--name", f"w{n}") for n in range(2)]
        wait_until(lambda: all(w.started() for w in pair), timeout=60, what="both workers", logs=pair[0].output)
        total = queue_webhooks(alice, receiver, devices=25, notifications=20)
        wait_until(all_sent, timeout=180, what="all deliveries sent", logs=lambda: pair[0].output() + pair[1].output())
        for worker in pair:
            worker.signal(signal.SIGTERM)
            assert worker.wait() == 0, worker.output()
    assert total == 500
    received = receiver.count(lambda r: r.headers["x-realtime-delivery"])
    assert len(received) == 500
    assert [key for key, times in received.items() if times > 1] == [], "double sends"
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}, "a delivery was claimed twice"
    assert set(Delivery.objects.values_list("leased_by", flat=True)) == {"w0", "w1"}


@pytest.mark.postgres
def test_a_killed_worker_leaves_nothing_stuck(alice, workers):
    """SIGKILL one of two workers mid-run: its leased deliveries are reclaimed after the lease and sent."""
    lease = {"REALTIME_PUSH_LEASE_SECONDS": "3"}
    with signed_receiver(delay=0.2) as receiver:  # batches in flight long enough to be killed in
        doomed, survivor = workers("--name", "doomed", **lease), workers("--name", "survivor", **lease)
        wait_until(lambda: doomed.started() and survivor.started(), timeout=60, what="both workers")
        total = queue_webhooks(alice, receiver, devices=25, notifications=20)
        wait_until(
            lambda: Delivery.objects.filter(status="sending", leased_by="doomed").exists(),
            timeout=60,
            what="the doomed worker holding a lease",
        )
        doomed.signal(signal.SIGKILL)
        doomed.wait()
        wait_until(all_sent, timeout=180, what="all deliveries sent", logs=survivor.output)
        survivor.signal(signal.SIGTERM)
        assert survivor.wait() == 0, survivor.output()
    received = receiver.count(lambda r: r.headers["x-realtime-delivery"])
    assert len(received) == total == 500, "every delivery arrived"
    reclaimed = {d.idempotency_key for d in Delivery.objects.filter(attempts__gt=1)}
    assert 0 < len(reclaimed) <= 20, "only the killed worker's batch in flight was retried"
    assert {key for key, times in received.items() if times > 1} <= reclaimed, "duplicates only from the kill"
