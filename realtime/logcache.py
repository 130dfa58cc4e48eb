"""Committed log rows kept in memory by each process, for the replays of a reconnect storm.

When a process restarts, its clients resubscribe with ``since`` within a
minute or two, most of them to the same streams from about the same
position. Read from the database each time, the same rows are fetched,
built into ``Notification`` models and encoded again for every batch of
sockets (``realtime.reads``). ``LogCache`` keeps the rows read recently
(least recently used out first, about ``LOG_CACHE_BYTES`` of memory at
most), so a replay reads from the database only the rows no earlier read
brought in.

Why that is safe: a committed row never changes. A seq is never used twice
in a stream (retention and ``stream_reset`` delete rows and raise the
horizon, they never renumber); an event revised in its own transaction is
read only after that commits; and the key holds the stream's epoch, so a
stream created again under a reused id shares nothing with the old one.
The head (seq, epoch, horizons, replay floor) is always read from the
database, so what a replay may start from and where it ends are decided as
before; a row that retention deleted after that head was read is still part
of a faithful replay up to it. Only rows read outside a transaction are
kept (so committed ones: a rolled-back append's seq is used again), and
never those of user-facing (inbox) notifications, which change when read
(``read_at``).

What it cannot see is a change made behind the app's back: log rows deleted
by hand, or a database restored from a backup (or failed over to a replica
that lost the last commits), which gives seqs already kept a second
meaning. After either, restart the processes (or run with
``LOG_CACHE_BYTES = 0``); ``manage.py`` commands that reset or prune
streams need nothing, they move the epoch or the horizon that every read
checks.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.db import connections, router

from realtime.conf import realtime_settings
from realtime.frames import event_text
from realtime.models import Notification

Key = tuple[int, str, int]  # (stream id, epoch, seq)

#: What a kept row is counted as besides its encoded frame: the model instance, and its payload decoded (about
#: twice the frame's size again; measured: about 1.3 KB in all for a row with a 225-byte frame).
ROW_BYTES, DECODED_FACTOR = 1024, 3


_reads = threading.local()


@contextmanager
def committed_reads() -> Iterator[None]:
    """Rows this thread reads meanwhile may be kept although a transaction is open: it must be a read-only one,
    which holds no appends of its own (``realtime.snapshots.read_only_snapshot``)."""
    previous = getattr(_reads, "committed", False)
    _reads.committed = True
    try:
        yield
    finally:
        _reads.committed = previous


def row_bytes(row: Notification) -> int:
    """About how much memory ``row`` holds once kept (with its encoded frame, which replays need anyway)."""
    return ROW_BYTES + DECODED_FACTOR * len(event_text(row))


class LogCache:
    """Committed rows by ``(stream id, epoch, seq)``, about ``max_bytes`` of them at most; thread-safe.

    A kept row's ``stream`` is the head it was first read with: the same name, epoch and object type as any
    later head of that key (all an event frame uses), not the same seq.
    """

    def __init__(self, *, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._rows: OrderedDict[Key, tuple[Notification, int]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._rows)

    def rows(self, *, stream_id: int, epoch: str, after: int, through: int) -> list[Notification] | None:
        """Every row with ``after < seq <= through``, oldest first, or ``None`` unless all of them are here."""
        if self.max_bytes <= 0 or through <= after or through - after > len(self._rows):
            return None
        found: list[Notification] = []
        with self._lock:
            for seq in range(after + 1, through + 1):
                kept = self._rows.get((stream_id, epoch, seq))
                if kept is None:
                    return None
                found.append(kept[0])
            for row in found:
                self._rows.move_to_end((stream_id, epoch, row.seq))
        return found

    def keep(self, *, stream_id: int, epoch: str, rows: Iterable[Notification]) -> None:
        """Remember ``rows`` of the stream, read with a head of epoch ``epoch`` (user-facing rows are skipped).

        Only rows read in autocommit mode, outside any transaction, or within ``committed_reads()``, are kept:
        inside another transaction they may include its own appends, whose seqs are used again if it rolls back.
        """
        if self.max_bytes <= 0:
            return
        connection = connections[router.db_for_read(Notification)]
        outside = not connection.in_atomic_block and connection.get_autocommit()
        if not (outside or getattr(_reads, "committed", False)):
            return
        sized = [(row, row_bytes(row)) for row in rows if not row.is_user_facing]
        with self._lock:
            for row, size in sized:
                key = (stream_id, epoch, row.seq)
                previous = self._rows.pop(key, None)
                if previous is not None:
                    self.bytes -= previous[1]
                self._rows[key] = (row, size)
                self.bytes += size
            while self.bytes > self.max_bytes:
                _, (_, size) = self._rows.popitem(last=False)
                self.bytes -= size

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()
            self.bytes = 0


_cache = LogCache(max_bytes=0)
_cache_lock = threading.Lock()


def get_log_cache() -> LogCache:
    """This process's cache, of ``LOG_CACHE_BYTES`` (``0``: keeps nothing)."""
    global _cache
    size = realtime_settings.LOG_CACHE_BYTES
    if _cache.max_bytes != size:
        with _cache_lock:
            if _cache.max_bytes != size:
                _cache = LogCache(max_bytes=size)
    return _cache
