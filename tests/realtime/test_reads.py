"""Log reads shared by sockets that subscribe at the same time: batches, their order, and their failures."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from realtime import reads
from realtime.events import Event
from realtime.log import notification_append, stream_read
from realtime.reads import read_logs
from realtime.registry import registry
from realtime.streams import StreamRef

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
        self.real = reads.subscriptions_read
        monkeypatch.setattr(reads, "subscriptions_read", self)

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
