"""Log reads shared by the sockets of a process that open subscriptions at the same time.

When a process restarts, its clients come back together and resubscribe
with ``since``; most of them to the same popular streams, from the same
position. Read one by one, that is two queries per socket (heads, rows) for
the same rows again and again. ``read_logs`` queues a socket's reads and one
task per event loop runs them in batches: each batch is one
``realtime.subscriptions.subscriptions_read`` call (one query for the heads,
one for the rows) for the distinct ``(stream, since, epoch)`` of every socket
queued before it started, and each socket gets the answers for its own
entries. Answers are what each stream read alone would give.

Ordering: a socket's read is queued only after its permission check
returned, and a batch takes only reads queued before it starts, so the read
still follows the check (and the socket's check after the read follows the
batch). A batch holds at most ``BATCH_READS`` distinct reads; a database
error fails only the sockets of its batch, each of which answers its
subscribe with an error as it would for its own read.
"""

from __future__ import annotations

import asyncio
import dataclasses
import weakref
from dataclasses import dataclass

from realtime.db import run_db
from realtime.log import StreamHistory
from realtime.streams import StreamRef
from realtime.subscriptions import subscriptions_read

Read = tuple[StreamRef, int | None, str | None]

#: The most distinct ``(stream, since, epoch)`` one batch reads (one condition each in its rows query).
BATCH_READS = 200


@dataclass
class _Queued:
    reads: list[Read]
    limit: int
    future: asyncio.Future[list[StreamHistory]]

    def keys(self) -> list[tuple[str, int | None, str | None]]:
        return [(stream.name, since, epoch) for stream, since, epoch in self.reads]


class SharedReads:
    """The reads queued in one event loop, and the task that runs them (while any are queued)."""

    def __init__(self) -> None:
        self.queued: list[_Queued] = []
        self.task: asyncio.Task[None] | None = None

    async def read(self, *, reads: list[Read], limit: int) -> list[StreamHistory]:
        """The history of each of ``reads``, in order, read in a batch that starts after this call."""
        future: asyncio.Future[list[StreamHistory]] = asyncio.get_running_loop().create_future()
        self.queued.append(_Queued(reads, limit, future))
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self.run(), name="realtime-shared-reads")
        return await future

    def take(self) -> list[_Queued]:
        """The next batch: the oldest queued reads with the same limit, up to ``BATCH_READS`` distinct reads."""
        limit = self.queued[0].limit
        batch: list[_Queued] = []
        rest: list[_Queued] = []
        distinct: set[tuple[str, int | None, str | None]] = set()
        full = False
        for queued in self.queued:  # one pass: the queue may hold thousands of sockets in a storm
            if queued.limit == limit and not full:
                keys = set(queued.keys())
                full = bool(batch) and len(distinct | keys) > BATCH_READS
                if not full:
                    batch.append(queued)
                    distinct |= keys
                    continue
            rest.append(queued)
        self.queued = rest
        return batch

    async def run(self) -> None:
        while self.queued:
            batch = self.take()
            try:
                await self.run_batch(batch)
            except asyncio.CancelledError:
                for queued in [*batch, *self.queued]:
                    queued.future.cancel()
                self.queued.clear()
                raise

    async def run_batch(self, batch: list[_Queued]) -> None:
        unique: dict[tuple[str, int | None, str | None], Read] = {}
        for queued in batch:
            unique.update(zip(queued.keys(), queued.reads, strict=True))
        try:
            histories = await run_db(subscriptions_read, reads=list(unique.values()), limit=batch[0].limit)
        except Exception as exc:  # each socket answers its subscribe with an error, as for its own read
            for queued in batch:
                if not queued.future.done():
                    queued.future.set_exception(exc)
            return
        by_key = dict(zip(unique, histories, strict=True))
        for queued in batch:
            if not queued.future.done():  # a socket that went away meanwhile
                answers = [
                    dataclasses.replace(by_key[key], stream=stream)
                    for key, (stream, _, _) in zip(queued.keys(), queued.reads, strict=True)
                ]
                queued.future.set_result(answers)


_shared: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SharedReads] = weakref.WeakKeyDictionary()


async def read_logs(*, reads: list[Read], limit: int) -> list[StreamHistory]:
    """The history of each ``(stream, since, epoch)`` of ``reads`` (``realtime.log.stream_read``'s answers), read
    together with those of the other sockets of this event loop that read at the same time."""
    loop = asyncio.get_running_loop()
    shared = _shared.get(loop)
    if shared is None:
        shared = _shared[loop] = SharedReads()
    return await shared.read(reads=reads, limit=limit)
