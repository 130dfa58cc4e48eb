"""Log reads shared by the sockets of a process that open subscriptions at the same time.

When a process restarts, its clients come back together and resubscribe
with ``since``; most of them to the same popular streams, from the same
position. Read one by one, that is two queries per socket (heads, rows) for
the same rows again and again. ``read_logs`` queues a socket's reads and one
task per event loop runs them in batches: each batch is one
``realtime.subscriptions.subscriptions_shared_read`` call (one query for the heads,
one for the rows) for the distinct ``(stream, since, epoch)`` of every socket
queued before it started, and each socket gets the answers for its own
entries. Answers are what each stream read alone would give.

Ordering: a socket's read is queued only after its permission check
returned, and a batch takes only reads queued before it starts, so the read
still follows the check (and the socket's check after the read follows the
batch). A batch holds at most ``BATCH_READS`` distinct reads; a database
error fails only the sockets of its batch, each of which answers its
subscribe with an error as it would for its own read.

Where the check and the read can share one snapshot (``realtime.snapshots``),
``open_checked`` queues a socket's targets unchecked instead, and its batch
(of at most ``BATCH_CHECKS`` sockets) runs every socket's check and then the
one read in that snapshot (``subscriptions_checked_read``); up to
``SNAPSHOTS_AT_ONCE`` such batches run at once, each on a database thread of
its own (one thread running every check one after the other, handing the
interpreter lock to and from the event loop around each query, left the
process idle part of the time in a storm). A socket whose check fails, or
every socket of a batch whose snapshot fails (a check that writes, which a
read-only transaction refuses), is told to open the three-step way
(``None``), which answers the error, if there is one, as before; a database
that cannot be reached fails the sockets of the batch, as for a batch of
reads.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import weakref
from dataclasses import dataclass
from typing import Any

from django.db import OperationalError
from rest_framework.exceptions import APIException

from realtime.db import db_threads, run_db
from realtime.log import StreamHistory
from realtime.subscriptions import Opening, Read, subscriptions_checked_read, subscriptions_shared_read

logger = logging.getLogger(__name__)

#: The most distinct ``(stream, since, epoch)`` one batch reads (one condition each in its rows query).
BATCH_READS = 200
#: The most sockets whose checks one snapshot batch runs (one after the other, on one database thread).
BATCH_CHECKS = 25
#: The most snapshot batches run at once (each on a database thread of its own, leaving one of ``db_threads()``
#: for the rest: handshakes, rechecks, catch-ups).
SNAPSHOTS_AT_ONCE = 4


@dataclass
class _Queued:
    reads: list[Read]
    limit: int
    future: asyncio.Future[Any]
    #: The socket's targets to check in the batch's snapshot of database ``using`` (``open_checked``), or ``None``.
    opening: Opening | None = None
    using: str | None = None

    def kind(self) -> tuple[int, str | None]:
        return (self.limit, self.using if self.opening is not None else None)

    def keys(self) -> list[tuple[str, int | None, str | None]]:
        return [(stream.name, since, epoch) for stream, since, epoch in self.reads]


class SharedReads:
    """The reads queued in one event loop, and the task that runs them (while any are queued)."""

    def __init__(self) -> None:
        self.queued: list[_Queued] = []
        self.task: asyncio.Task[None] | None = None
        self.snapshots: set[asyncio.Task[None]] = set()
        self.slots = asyncio.Semaphore(max(1, min(SNAPSHOTS_AT_ONCE, db_threads() - 1)))
        self.changed = asyncio.Event()  # a snapshot batch finished, or a socket was queued

    async def read(self, *, reads: list[Read], limit: int) -> list[StreamHistory]:
        """The history of each of ``reads``, in order, read in a batch that starts after this call."""
        return await self.enqueue(_Queued(reads, limit, asyncio.get_running_loop().create_future()))

    async def open(self, *, opening: Opening, limit: int, using: str) -> list[StreamHistory | APIException] | None:
        """Per target of ``opening``: its history or the error its check answers, both from one snapshot of
        ``using`` taken in a batch that starts after this call; ``None``: open it the three-step way instead."""
        reads = [(target.stream, target.since, target.epoch) for target in opening.targets]
        future = asyncio.get_running_loop().create_future()
        return await self.enqueue(_Queued(reads, limit, future, opening=opening, using=using))

    async def enqueue(self, queued: _Queued) -> Any:
        self.queued.append(queued)
        self.changed.set()
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self.run(), name="realtime-shared-reads")
        return await queued.future

    def take(self) -> list[_Queued]:
        """The next batch: the oldest queued reads of the same kind (limit, and whether checked in a snapshot),
        up to ``BATCH_READS`` distinct reads (and ``BATCH_CHECKS`` sockets to check)."""
        kind = self.queued[0].kind()
        most = BATCH_CHECKS if kind[1] is not None else len(self.queued)
        batch: list[_Queued] = []
        rest: list[_Queued] = []
        distinct: set[tuple[str, int | None, str | None]] = set()
        full = False
        for queued in self.queued:  # one pass: the queue may hold thousands of sockets in a storm
            if queued.kind() == kind and not full:
                keys = set(queued.keys())
                full = bool(batch) and (len(distinct | keys) > BATCH_READS or len(batch) >= most)
                if not full:
                    batch.append(queued)
                    distinct |= keys
                    continue
            rest.append(queued)
        self.queued = rest
        return batch

    async def run(self) -> None:
        """Take and run batches while any are queued: plain reads one after the other; snapshot batches up to
        ``SNAPSHOTS_AT_ONCE`` at a time (each takes its sockets when it starts, and sees a snapshot taken then,
        so they may overlap in any order). A snapshot batch starts at once when none is running; beside running
        ones only when a full batch (``BATCH_CHECKS`` sockets) is waiting: each batch costs its transaction, its
        heads query and its hop to a database thread, and a storm of small ones cost more than they saved."""
        batch: list[_Queued] = []
        try:
            while self.queued:
                if self.queued[0].opening is None:
                    batch = self.take()
                    await self.run_batch(batch)
                    continue
                await self.slots.acquire()
                try:
                    while self.snapshots and len(self.queued) < BATCH_CHECKS:
                        self.changed.clear()
                        await self.changed.wait()
                except asyncio.CancelledError:
                    self.slots.release()
                    raise
                batch = self.take()
                task = asyncio.create_task(self.run_checked_batch(batch), name="realtime-snapshot-reads")
                self.snapshots.add(task)
                task.add_done_callback(functools.partial(self.snapshot_done, batch))
                batch = []
        except asyncio.CancelledError:
            for task in self.snapshots:
                task.cancel()
            for queued in [*batch, *self.queued]:
                queued.future.cancel()
            self.queued.clear()
            raise

    def snapshot_done(self, batch: list[_Queued], task: asyncio.Task[None]) -> None:
        self.snapshots.discard(task)
        self.slots.release()
        self.changed.set()
        if task.cancelled():  # perhaps before it started: its sockets must not wait for ever
            for queued in batch:
                queued.future.cancel()

    async def run_batch(self, batch: list[_Queued]) -> None:
        try:
            answers = await run_db(
                subscriptions_shared_read, reads=[queued.reads for queued in batch], limit=batch[0].limit
            )
        except Exception as exc:  # each socket answers its subscribe with an error, as for its own read
            for queued in batch:
                if not queued.future.done():
                    queued.future.set_exception(exc)
            return
        for queued, answer in zip(batch, answers, strict=True):
            if not queued.future.done():  # a socket that went away meanwhile
                queued.future.set_result(answer)

    async def run_checked_batch(self, batch: list[_Queued]) -> None:
        openings = [queued.opening for queued in batch if queued.opening is not None]
        try:
            answers = await run_db(
                subscriptions_checked_read, openings=openings, limit=batch[0].limit, using=batch[0].using
            )
        except OperationalError as exc:  # the database is unreachable or overloaded: as for a batch of reads
            for queued in batch:
                if not queued.future.done():
                    queued.future.set_exception(exc)
            return
        except Exception:  # e.g. a check that writes: the three-step way answers each socket
            global _warned
            logger.log(
                logging.DEBUG if _warned else logging.WARNING,
                "Checking and reading %d subscribes in one snapshot failed; opening them without it "
                "(REALTIME['SNAPSHOT_CHECKS'] turns the snapshot off). Later failures are logged at DEBUG.",
                len(batch),
                exc_info=True,
            )
            _warned = True
            answers = [None] * len(batch)
        for queued, answer in zip(batch, answers, strict=True):
            if not queued.future.done():  # a socket that went away meanwhile
                queued.future.set_result(answer)


def _shared_reads() -> SharedReads:
    loop = asyncio.get_running_loop()
    shared = _shared.get(loop)
    if shared is None:
        shared = _shared[loop] = SharedReads()
    return shared


_warned = False
_shared: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SharedReads] = weakref.WeakKeyDictionary()


async def read_logs(*, reads: list[Read], limit: int) -> list[StreamHistory]:
    """The history of each ``(stream, since, epoch)`` of ``reads`` (``realtime.log.stream_read``'s answers), read
    together with those of the other sockets of this event loop that read at the same time."""
    return await _shared_reads().read(reads=reads, limit=limit)


async def open_checked(*, opening: Opening, limit: int, using: str) -> list[StreamHistory | APIException] | None:
    """Per target of ``opening``: its history, or the error its check answers, checked and read in one snapshot
    of ``using`` together with the other sockets of this event loop opening at the same time; ``None`` if that
    failed (open it the three-step way)."""
    return await _shared_reads().open(opening=opening, limit=limit, using=using)
