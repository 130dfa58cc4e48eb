"""Log reads shared by sockets that subscribe at the same time: batches, their order, and their failures."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import OperationalError
from rest_framework.exceptions import NotFound

from api.views import FooViewSet
from realtime import reads, subscriptions
from realtime.db import shutdown_pool
from realtime.events import Event
from realtime.log import notification_append, stream_read
from realtime.reads import open_checked, read_logs
from realtime.registry import registry
from realtime.streams import StreamRef
from realtime.subscriptions import Opening, Target
from tests.realtime.test_recovery import rename

pytestmark = pytest.mark.django_db(transaction=True)

EVENT = Event("test:reads:appended", "APPEND_TEST")
FOO = registry.get("foo")


@sync_to_async
def logged(pk: int, changes: int) -> tuple[StreamRef, str]:
    """A stream with ``changes`` logged events; its epoch."""
    stream = FOO.get_stream(pk)
    appended = [notification_append(stream=stream, event=EVENT, payload={"n": n}) for n in range(changes)]
    return stream, appended[-1].stream.epoch


class Spy:
    """Wraps ``subscriptions_read``: records each batch's reads; the first batch can be held until released."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, hold: bool = False, fail_first: bool = False) -> None:
        self.batches: list[list[tuple[str, Any, Any]]] = []
        self.entered, self.release = threading.Event(), threading.Event()
        self.hold, self.fail_first = hold, fail_first
        self.real = subscriptions.subscriptions_read
        monkeypatch.setattr(subscriptions, "subscriptions_read", self)

    def __call__(self, **kwargs: Any) -> Any:
        self.batches.append([(stream.name, since, epoch) for stream, since, epoch in kwargs["reads"]])
        first = len(self.batches) == 1
        if first and self.hold:
            self.entered.set()
            assert self.release.wait(10), "the test never released the first batch"
        if first and self.fail_first:
            raise RuntimeError("database gone")
        return self.real(**kwargs)


def summary(history: Any) -> tuple:
    return (history.stream, history.seq, history.recovered, history.reason, [n.seq for n in history.notifications])


async def test_reads_queued_together_are_one_batch_and_each_gets_its_own_answers(monkeypatch):
    """Three sockets' reads (one shared) queued at once: one batch of the distinct reads; each answer is what
    ``stream_read`` gives for that stream alone."""
    (one, epoch_one), (two, epoch_two) = await logged(101, 5), await logged(102, 3)
    spy = Spy(monkeypatch)
    asked = [
        [(one, 2, epoch_one)],
        [(one, 2, epoch_one), (two, 0, epoch_two)],
        [(two, None, None), (one, 9, epoch_one)],
    ]
    answers = await asyncio.gather(*(read_logs(reads=entries, limit=100) for entries in asked))
    assert len(spy.batches) == 1
    assert sorted(spy.batches[0], key=str) == sorted(
        {(s.name, since, epoch) for entries in asked for s, since, epoch in entries}, key=str
    )
    for entries, answer in zip(asked, answers, strict=True):
        read_alone = sync_to_async(stream_read)
        alone = [await read_alone(stream=s, since=since, epoch=epoch, limit=100) for s, since, epoch in entries]
        assert [summary(h) for h in answer] == [summary(h) for h in alone]
    assert [n.seq for n in answers[1][0].notifications] == [3, 4, 5]
    assert answers[2][1].reason == "ahead"


async def test_a_read_queued_while_a_batch_runs_waits_for_the_next_batch(monkeypatch):
    """A batch takes only reads queued before it started: a later socket's read (queued after its permission
    check) is never answered from a query that ran before it was asked."""
    (stream, epoch) = await logged(103, 2)
    spy = Spy(monkeypatch, hold=True)
    first = asyncio.ensure_future(read_logs(reads=[(stream, 0, epoch)], limit=100))
    assert await asyncio.to_thread(spy.entered.wait, 10)
    second = asyncio.ensure_future(read_logs(reads=[(stream, 1, epoch)], limit=100))
    await asyncio.sleep(0.05)
    spy.release.set()
    assert [n.seq for n in (await first)[0].notifications] == [1, 2]
    assert [n.seq for n in (await second)[0].notifications] == [2]
    assert spy.batches == [[(stream.name, 0, epoch)], [(stream.name, 1, epoch)]]


async def test_a_batch_holds_at_most_batch_reads_distinct_reads(monkeypatch):
    """With ``BATCH_READS`` = 2, three sockets with a distinct read each are two batches; none is dropped."""
    monkeypatch.setattr(reads, "BATCH_READS", 2)
    (stream, epoch) = await logged(104, 3)
    spy = Spy(monkeypatch)
    answers = await asyncio.gather(*(read_logs(reads=[(stream, since, epoch)], limit=100) for since in (0, 1, 2)))
    assert [len(batch) for batch in spy.batches] == [2, 1]
    assert [[n.seq for n in answer[0].notifications] for answer in answers] == [[1, 2, 3], [2, 3], [3]]


async def test_a_database_error_fails_the_sockets_of_its_batch_only(monkeypatch):
    """The first batch's query fails: its socket gets the error; a socket queued meanwhile is read in the next."""
    (stream, epoch) = await logged(105, 1)
    spy = Spy(monkeypatch, hold=True, fail_first=True)
    first = asyncio.ensure_future(read_logs(reads=[(stream, 0, epoch)], limit=100))
    assert await asyncio.to_thread(spy.entered.wait, 10)
    second = asyncio.ensure_future(read_logs(reads=[(stream, 0, epoch)], limit=100))
    spy.release.set()
    with pytest.raises(RuntimeError, match="database gone"):
        await first
    assert [n.seq for n in (await second)[0].notifications] == [1]


async def test_a_socket_that_goes_away_leaves_the_others_their_answers(monkeypatch):
    """One waiter is cancelled while its batch runs (its socket closed): the batch still answers the others."""
    (stream, epoch) = await logged(106, 2)
    spy = Spy(monkeypatch, hold=True)
    gone = asyncio.ensure_future(read_logs(reads=[(stream, 0, epoch)], limit=100))
    staying = asyncio.ensure_future(read_logs(reads=[(stream, 1, epoch)], limit=100))
    assert await asyncio.to_thread(spy.entered.wait, 10)
    gone.cancel()
    spy.release.set()
    assert [n.seq for n in (await staying)[0].notifications] == [2]
    assert gone.cancelled()
    assert len(spy.batches) == 1


# --- checked and read in one snapshot (``open_checked``) ------------------------------------------


class SnapshotSpy:
    """Wraps ``subscriptions_checked_read``: records how many sockets each snapshot batch held; may fail."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, fail: bool = False) -> None:
        self.batches: list[int] = []
        self.fail = fail
        self.real = reads.subscriptions_checked_read
        monkeypatch.setattr(reads, "subscriptions_checked_read", self)

    def __call__(self, **kwargs: Any) -> Any:
        self.batches.append(len(kwargs["openings"]))
        if self.fail:
            raise RuntimeError("snapshot refused")
        return self.real(**kwargs)


def opening(user: Any, *targets: Target) -> Opening:
    return Opening(scope={"type": "websocket", "path": "/ws/notifications/"}, user=user, auth=None, targets=[*targets])


@pytest.mark.postgres
async def test_sockets_opening_together_are_checked_and_read_in_one_snapshot(monkeypatch, alice, bob, carol, foo):
    """Three sockets opening at once: one snapshot batch; each gets its own histories, and the one whose user may
    not see foo its error (with nothing read for it)."""
    await sync_to_async(rename)(foo.pk, "third", "fourth")
    spy = SnapshotSpy(monkeypatch)
    stream = registry.stream_for(foo)
    asked = [
        opening(alice, Target(stream, since=2)),
        opening(bob, Target(stream, since=3), Target(stream)),
        opening(carol, Target(stream, since=2)),
    ]
    answers = await asyncio.gather(*(open_checked(opening=o, limit=100, using="default") for o in asked))
    assert spy.batches == [3]
    assert [n.seq for n in answers[0][0].notifications] == [3, 4]
    assert [n.seq for n in answers[1][0].notifications] == [4]
    assert (answers[1][1].recovered, answers[1][1].seq) == (False, 4)
    assert isinstance(answers[2][0], NotFound)


@pytest.mark.postgres
async def test_a_snapshot_batch_checks_at_most_batch_checks_sockets(monkeypatch, alice, foo):
    """With ``BATCH_CHECKS`` = 2, three sockets are two snapshots; none is dropped."""
    monkeypatch.setattr(reads, "BATCH_CHECKS", 2)
    await sync_to_async(rename)(foo.pk, "third", "fourth")
    spy = SnapshotSpy(monkeypatch)
    stream = registry.stream_for(foo)
    asked = [opening(alice, Target(stream, since=since)) for since in (2, 3, 4)]
    answers = await asyncio.gather(*(open_checked(opening=o, limit=100, using="default") for o in asked))
    assert spy.batches == [2, 1]
    assert [[n.seq for n in answer[0].notifications] for answer in answers] == [[3, 4], [4], []]


async def test_a_failed_snapshot_sends_each_socket_of_its_batch_the_three_step_way(monkeypatch, alice, foo):
    """The snapshot fails: every socket of its batch is answered ``None`` (open it the three-step way)."""
    spy = SnapshotSpy(monkeypatch, fail=True)
    stream = registry.stream_for(foo)
    asked = [opening(alice, Target(stream, since=0)), opening(alice, Target(stream))]
    answers = await asyncio.gather(*(open_checked(opening=o, limit=100, using="default") for o in asked))
    assert (spy.batches, answers) == ([2], [None, None])


async def test_plain_reads_and_snapshot_opens_are_separate_batches(monkeypatch, alice, foo):
    """A read queued after its own check is never answered from a snapshot batch, nor the other way round."""
    snapshots, plain = SnapshotSpy(monkeypatch, fail=True), Spy(monkeypatch)
    stream = registry.stream_for(foo)
    checked, read = await asyncio.gather(
        open_checked(opening=opening(alice, Target(stream, since=0)), limit=100, using="default"),
        read_logs(reads=[(stream, 1, None)], limit=100),
    )
    assert (snapshots.batches, plain.batches, checked) == ([1], [[(stream.name, 1, None)]], None)
    assert [n.seq for n in read[0].notifications] == [2]


@pytest.mark.postgres
async def test_snapshot_batches_run_at_once_each_on_its_own_thread(monkeypatch, settings, alice, foo):
    """With three database threads, two snapshot batches run at the same time: each waits inside for the other."""
    settings.REALTIME = {"DB_THREADS": 3}  # two for snapshots, one left for the rest
    monkeypatch.setattr(reads, "BATCH_CHECKS", 1)
    both = threading.Barrier(2, timeout=10)
    real = reads.subscriptions_checked_read

    def meeting(**kwargs: Any) -> Any:
        both.wait()  # breaks after 10 s, failing the batch, if the batches ran one after the other
        return real(**kwargs)

    monkeypatch.setattr(reads, "subscriptions_checked_read", meeting)
    stream = registry.stream_for(foo)
    try:
        answers = await asyncio.gather(
            *(open_checked(opening=opening(alice, Target(stream, since=1)), limit=100, using="default") for _ in "ab")
        )
    finally:
        await sync_to_async(shutdown_pool)()
    assert [[n.seq for n in answer[0].notifications] for answer in answers] == [[2], [2]]


@pytest.mark.postgres
async def test_beside_a_running_snapshot_only_a_full_batch_starts(monkeypatch, settings, alice, foo):
    """While a snapshot batch runs, one queued socket waits; a second one makes a full batch (``BATCH_CHECKS`` = 2),
    which starts beside the running one. Sockets: 1 in the first snapshot, then 2 together."""
    settings.REALTIME = {"DB_THREADS": 3}  # two for snapshots, one left for the rest
    monkeypatch.setattr(reads, "BATCH_CHECKS", 2)
    first_in, second_in, release = threading.Event(), threading.Event(), threading.Event()
    sizes: list[int] = []
    real = reads.subscriptions_checked_read

    def held(**kwargs: Any) -> Any:
        sizes.append(len(kwargs["openings"]))
        if len(sizes) == 1:
            first_in.set()
            assert release.wait(10), "the test never released the first snapshot"
        else:
            second_in.set()
        return real(**kwargs)

    monkeypatch.setattr(reads, "subscriptions_checked_read", held)
    stream = registry.stream_for(foo)

    def start() -> asyncio.Future[Any]:
        return asyncio.ensure_future(
            open_checked(opening=opening(alice, Target(stream, since=1)), limit=100, using="default")
        )

    try:
        first = start()
        assert await asyncio.to_thread(first_in.wait, 10)
        waiting = start()
        await asyncio.sleep(0)
        full = start()
        assert await asyncio.to_thread(second_in.wait, 10), "a full batch did not start beside the running one"
        release.set()
        answers = await asyncio.gather(first, waiting, full)
    finally:
        release.set()
        await sync_to_async(shutdown_pool)()
    assert sizes == [1, 2]
    assert [[n.seq for n in answer[0].notifications] for answer in answers] == [[2], [2], [2]]


@pytest.mark.postgres
async def test_a_check_that_raises_sends_only_its_socket_the_three_step_way(monkeypatch, alice, bob, foo):
    """The view raises for bob's request: bob is answered ``None`` (the three-step way answers his error), and
    alice, in the same snapshot, her history."""
    real_get_queryset = FooViewSet.get_queryset

    def failing_for_bob(self: FooViewSet) -> Any:
        if self.request.user == bob:
            raise ValueError("a filter backend that chokes on bob's query string")
        return real_get_queryset(self)

    monkeypatch.setattr(FooViewSet, "get_queryset", failing_for_bob)
    spy = SnapshotSpy(monkeypatch)
    stream = registry.stream_for(foo)
    answers = await asyncio.gather(
        *(
            open_checked(opening=opening(user, Target(stream, since=1)), limit=100, using="default")
            for user in (alice, bob)
        )
    )
    assert spy.batches == [2]
    assert [n.seq for n in answers[0][0].notifications] == [2]
    assert answers[1] is None


async def test_an_unreachable_database_fails_the_sockets_of_the_snapshot_with_its_error(monkeypatch, alice, foo):
    """An ``OperationalError`` (no connection, a pool timeout) fails each socket of the batch, as for a batch of
    reads, instead of sending every one of them the three-step way to the same database."""

    def unreachable(**kwargs: Any) -> Any:
        raise OperationalError("connection refused")

    monkeypatch.setattr(reads, "subscriptions_checked_read", unreachable)
    stream = registry.stream_for(foo)
    answers = await asyncio.gather(
        *(open_checked(opening=opening(alice, Target(stream, since=1)), limit=100, using="default") for _ in "ab"),
        return_exceptions=True,
    )
    assert [type(answer) for answer in answers] == [OperationalError, OperationalError]


async def test_a_snapshot_cancelled_before_it_ran_cancels_its_sockets(alice, foo):
    """A snapshot batch cancelled (the event loop closing) before or while it runs leaves no socket waiting."""
    shared = reads.SharedReads()
    waiter = asyncio.ensure_future(
        shared.open(opening=opening(alice, Target(registry.stream_for(foo), since=1)), limit=100, using="default")
    )
    for _ in range(10):
        if shared.snapshots:
            break
        await asyncio.sleep(0)
    (snapshot,) = shared.snapshots
    snapshot.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
