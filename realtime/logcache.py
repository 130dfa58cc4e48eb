"""Committed log rows kept in memory by each process, for the replays of a reconnect storm.

When a process restarts, its clients resubscribe with ``since`` within a
minute or two, most of them to the same streams from about the same
position. Read from the database each time, the same rows are fetched,
built into ``Notification`` models and encoded again for every batch of
sockets (``realtime.reads``). ``LogCache`` keeps the rows read recently
(least recently used out first, ``LOG_CACHE_ROWS`` at most), so a replay
reads from the database only the rows no earlier read brought in.

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
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable

from django.db import connections, router

from realtime.conf import realtime_settings
from realtime.models import Notification

Key = tuple[int, str, int]  # (stream id, epoch, seq)


class LogCache:
    """At most ``max_rows`` committed rows by ``(stream id, epoch, seq)``; safe to share between threads."""

    def __init__(self, *, max_rows: int) -> None:
        self.max_rows = max_rows
        self._rows: OrderedDict[Key, Notification] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._rows)

    def rows(self, *, stream_id: int, epoch: str, after: int, through: int) -> list[Notification] | None:
        """Every row with ``after < seq <= through``, oldest first, or ``None`` unless all of them are here."""
        if self.max_rows <= 0 or through <= after or through - after > self.max_rows:
            return None
        found: list[Notification] = []
        with self._lock:
            for seq in range(after + 1, through + 1):
                row = self._rows.get((stream_id, epoch, seq))
                if row is None:
                    return None
                found.append(row)
            for row in found:
                self._rows.move_to_end((stream_id, epoch, row.seq))
        return found

    def keep(self, *, stream_id: int, epoch: str, rows: Iterable[Notification]) -> None:
        """Remember ``rows`` of the stream read with head epoch ``epoch`` (inbox rows are skipped).

        Only rows read in autocommit mode are kept: inside a transaction the rows may include the
        transaction's own appends, whose seqs are used again if it rolls back.
        """
        if self.max_rows <= 0 or connections[router.db_for_read(Notification)].in_atomic_block:
            return
        with self._lock:
            for row in rows:
                if row.is_user_facing:
                    continue
                key = (stream_id, epoch, row.seq)
                self._rows[key] = row
                self._rows.move_to_end(key)
            while len(self._rows) > self.max_rows:
                self._rows.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()


_cache = LogCache(max_rows=0)
_cache_lock = threading.Lock()


def get_log_cache() -> LogCache:
    """This process's cache, sized by ``LOG_CACHE_ROWS`` (``0``: keeps nothing)."""
    global _cache
    size = realtime_settings.LOG_CACHE_ROWS
    if _cache.max_rows != size:
        with _cache_lock:
            if _cache.max_rows != size:
                _cache = LogCache(max_rows=size)
    return _cache
