"""A safety net for live messages the channel layer loses.

Redis pub/sub is at-most-once: an event published while Redis reconnects, or
before Redis has registered a process's new ``SUBSCRIBE``, never arrives. A
consumer notices a lost event when the next one on the stream arrives (its
seq skips ahead, and the consumer fills the gap from the log); this module
catches the last event before a quiet period.

Every ``SYNC_INTERVAL`` seconds one query reads the heads of all streams
subscribed in this process; the subscribers of each stream whose head moved
get a ``realtime.sync`` message with the head, through the channel layer (so
it is handled in order with their other messages), and fill from the log if
they are behind. Streams that do not move cost nothing but their row in that
one query.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import defaultdict
from typing import Any

from channels.db import database_sync_to_async

from realtime.conf import realtime_settings
from realtime.models import Stream

logger = logging.getLogger(__name__)

SYNC_MESSAGE = "realtime.sync"
_CHUNK = 500


def stream_heads(*, names: list[str]) -> dict[str, int]:
    """The current seq of each named stream that exists."""
    heads: dict[str, int] = {}
    for start in range(0, len(names), _CHUNK):
        heads.update(Stream.objects.filter(name__in=names[start : start + _CHUNK]).values_list("name", "seq"))
    return heads


class StreamWatcher:
    """The streams subscribed in one process (one event loop), and the task that checks their heads."""

    def __init__(self, layer: Any) -> None:
        self.layer = layer
        self.subscribers: dict[str, set[str]] = defaultdict(set)
        self.heads: dict[str, int] = {}
        self.task: asyncio.Task[None] | None = None

    def watch(self, stream: str, channel: str) -> None:
        self.subscribers[stream].add(channel)
        # A new subscriber learns the head at the next check even if another one already knew it.
        self.heads.pop(stream, None)
        interval = realtime_settings.SYNC_INTERVAL
        if interval > 0 and (self.task is None or self.task.done()):
            self.task = asyncio.get_running_loop().create_task(self.run(interval))

    def unwatch(self, stream: str, channel: str) -> None:
        channels = self.subscribers.get(stream)
        if channels is None:
            return
        channels.discard(channel)
        if not channels:
            del self.subscribers[stream]
            self.heads.pop(stream, None)
        if not self.subscribers and self.task is not None:
            self.task.cancel()
            self.task = None

    async def run(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.check()
            except Exception:
                logger.exception("Checking stream heads failed; trying again in %ss.", interval)

    async def check(self) -> None:
        """Tell the subscribers of every stream whose head moved since the last check."""
        names = list(self.subscribers)
        if not names:
            return
        heads = await database_sync_to_async(stream_heads)(names=names)
        for name, seq in heads.items():
            if self.heads.get(name) == seq:
                continue
            self.heads[name] = seq
            for channel in list(self.subscribers.get(name, ())):
                await self.layer.send(channel, {"type": SYNC_MESSAGE, "stream": name, "seq": seq})


_watchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, StreamWatcher] = weakref.WeakKeyDictionary()


def get_watcher(layer: Any) -> StreamWatcher:
    """The watcher of the running event loop (one per process under daphne)."""
    loop = asyncio.get_running_loop()
    watcher = _watchers.get(loop)
    if watcher is None:
        watcher = _watchers[loop] = StreamWatcher(layer)
    return watcher
