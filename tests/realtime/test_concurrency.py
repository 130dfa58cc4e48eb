"""Concurrent writers on PostgreSQL: per-stream seqs stay dense and in commit order; live subscribers get them in order.

Real threads, each with its own database connection and transactions, and
the Redis channel layer (the in-memory layer is not safe to publish to from
foreign threads). Needs ``DATABASE_URL`` and ``REDIS_URL``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest
from asgiref.sync import sync_to_async
from django.db import connection, transaction

from api.models import Foo
from realtime.events import Event, Notice
from realtime.log import notification_append
from realtime.models import Notification, Stream
from realtime.registry import registry
from realtime.streams import inbox_stream

from .conftest import subscribe

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

THREADS = 8
PER_THREAD = 200
TOTAL = THREADS * PER_THREAD


class Writers:
    """THREADS threads running ``work(thread_no)``, released together, each closing its own DB connection."""

    def __init__(self, work: Callable[[int], None]) -> None:
        self.work = work
        self.barrier = threading.Barrier(THREADS)
        self.errors: list[BaseException] = []
        self.threads = [threading.Thread(target=self._run, args=(n,), name=f"writer-{n}") for n in range(THREADS)]

    def _run(self, number: int) -> None:
        try:
            self.barrier.wait(timeout=30)
            self.work(number)
        except BaseException as exc:
            self.errors.append(exc)
        finally:
            connection.close()

    def start(self) -> Writers:
        for thread in self.threads:
            thread.start()
        return self

    def join(self) -> None:
        """Wait for every writer; re-raise the first error one of them hit."""
        for thread in self.threads:
            thread.join(timeout=300)
            assert not thread.is_alive(), f"{thread.name} did not finish"
        if self.errors:
            raise self.errors[0]


def stored_seqs(stream_name: str) -> list[int]:
    return list(Notification.objects.filter(stream__name=stream_name).order_by("seq").values_list("seq", flat=True))


def save_repeatedly(pk: int) -> Callable[[int], None]:
    def work(number: int) -> None:
        foo = Foo.objects.get(pk=pk)
        for i in range(PER_THREAD):
            foo.name = f"writer-{number}-{i}"
            foo.save()  # its own transaction: TrackedModel.save is atomic

    return work


async def test_concurrent_saves_of_one_foo_log_dense_seqs_and_arrive_in_order(connect, alice):
    """8 threads x 200 saves: the stream holds exactly 1..1600 and a live subscriber gets them all in order."""
    (foo,) = await sync_to_async(Foo._base_manager.bulk_create)([Foo(owner=alice, name="contended")])  # no event
    stream_name = registry.stream_for(foo).name
    communicator = await connect(alice)
    (subscribed,) = await subscribe(communicator, foo, since=0)
    assert (subscribed["seq"], subscribed["recovered"]) == (0, True)

    writers = Writers(save_repeatedly(foo.pk)).start()
    received = []
    while len(received) < TOTAL:
        frame = await communicator.receive_json_from(timeout=30)
        received.append(frame["meta"]["seq"])
    await asyncio.to_thread(writers.join)

    assert received == list(range(1, TOTAL + 1))
    assert await sync_to_async(stored_seqs)(stream_name) == list(range(1, TOTAL + 1))
    head = await Stream.objects.aget(name=stream_name)
    assert head.seq == TOTAL
    await communicator.send_json_to({"action": "ping", "request_id": "end"})
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong", "request_id": "end"}


async def test_concurrent_appends_contending_only_on_the_counter_row_stay_dense_and_arrive_in_order(connect, alice):
    """8 threads x 200 appends to alice's inbox, nothing else locked in common: seqs 1..1600, and her live socket
    gets each exactly once, in order.

    Saving one Foo also serializes on the Foo's row; here the stream's counter row is
    the only shared lock, so commits (and their publishes) really interleave.
    """
    stream = inbox_stream(alice.pk)
    event = Event("test:concurrency:appended", "APPEND_TEST")
    epochs: set[str] = set()
    communicator = await connect(alice)
    (subscribed,) = await subscribe(communicator, since=0)
    assert (subscribed["stream"], subscribed["seq"], subscribed["recovered"]) == (stream.name, 0, True)

    def work(number: int) -> None:
        for i in range(PER_THREAD):
            with transaction.atomic():
                notification = notification_append(
                    stream=stream, event=event, payload={"t": number, "i": i}, notice=Notice(title=f"note {number}-{i}")
                )
            epochs.add(notification.stream.epoch)

    writers = Writers(work).start()
    received = []
    while len(received) < TOTAL:
        frame = await communicator.receive_json_from(timeout=30)
        received.append(frame["meta"]["seq"])
    await asyncio.to_thread(writers.join)

    assert received == list(range(1, TOTAL + 1))
    assert await sync_to_async(stored_seqs)(stream.name) == list(range(1, TOTAL + 1))
    head = await Stream.objects.aget(name=stream.name)
    assert head.seq == TOTAL
    assert epochs == {head.epoch}

    def order_of(number: int) -> list[int]:
        mine = Notification.objects.filter(stream=head, payload__t=number).order_by("seq")
        return [n.payload["i"] for n in mine]

    # Within each writer, its own events are in the order it committed them.
    for number in range(THREADS):
        assert await sync_to_async(order_of)(number) == list(range(PER_THREAD))
    await communicator.send_json_to({"action": "ping", "request_id": "end"})
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong", "request_id": "end"}
