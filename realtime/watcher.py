"""A safety net for live messages the channel layer loses.

Redis pub/sub is at-most-once: an event published while Redis reconnects, or
before Redis has registered a process's new ``SUBSCRIBE``, never arrives. A
consumer notices a lost event when the next one on the stream arrives (its
seq skips ahead, and the consumer fills the gap from the log); this module
catches the last event before a quiet period, and a lost user recheck.

Every ``SYNC_INTERVAL`` seconds, per process:

* one query reads the heads of all streams subscribed in the process. A head
  that has stopped moving (the same at two checks in a row) and was not yet
  reported goes to the stream's local subscribers as a ``realtime.sync``
  message, through the channel layer (so it is handled in order with their
  other messages); a subscriber behind it fills from the log. Streams that
  are busy or quiet cost nothing but their row in that query. A head counts
  as reported only once every subscriber was sent it; otherwise the next
  check tries again.
* every socket with live lists gets a ``realtime.list_sync``: it recomputes
  its lists' members (one query per distinct user and list in the process)
  and sends what a lost live message would have told;
* one query reads the access flags (active, staff, superuser) of the users
  connected to the process; a user whose flags changed, or who was deleted,
  gets a ``realtime.recheck`` on each of their local sockets, as the
  (at-most-once) recheck published on the change itself would have done.

"Changed" is measured from the flags the user had when their first socket in
the process connected: the consumer passes them to ``watch_user`` (or, when it
does not, they are read at once, in one query for all users connecting
meanwhile). A user found inactive or deleted at that read was active when they
authenticated, so that counts as a change too. Without this baseline a
deactivation right after connecting, whose published recheck was lost, would
be taken for the user's normal state and never acted on.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import defaultdict
from typing import Any

from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model

from realtime.conf import realtime_settings
from realtime.models import Stream
from realtime.publish import RECHECK_MESSAGE

logger = logging.getLogger(__name__)

SYNC_MESSAGE = "realtime.sync"
LIST_SYNC_MESSAGE = "realtime.list_sync"
_CHUNK = 500

Flags = tuple[bool, bool, bool]


class _Connected:
    """The flags of a user who was active when they connected, the rest unknown: unequal to any flags read."""

    def __repr__(self) -> str:
        return "CONNECTED"


CONNECTED: Any = _Connected()


def stream_heads(*, names: list[str]) -> dict[str, int]:
    """The current seq of each named stream that exists."""
    heads: dict[str, int] = {}
    for start in range(0, len(names), _CHUNK):
        heads.update(Stream.objects.filter(name__in=names[start : start + _CHUNK]).values_list("name", "seq"))
    return heads


def user_access_flags(user: Any) -> Flags:
    """The flags a user's access depends on: (is_active, is_staff, is_superuser)."""
    return (user.is_active, getattr(user, "is_staff", False), getattr(user, "is_superuser", False))


def user_flags(*, pks: list[int]) -> dict[int, Flags]:
    """The access flags of each existing user in ``pks``: (is_active, is_staff, is_superuser)."""
    flags: dict[int, Flags] = {}
    for start in range(0, len(pks), _CHUNK):
        for user in get_user_model()._default_manager.filter(pk__in=pks[start : start + _CHUNK]):
            flags[user.pk] = user_access_flags(user)
    return flags


def _baseline(flags: Flags | None) -> Any:
    """What to compare later reads with, given flags read just after connecting (``None``: the user is gone)."""
    return flags if flags is not None and flags[0] else CONNECTED


class StreamWatcher:
    """The streams and users of one process (one event loop), and the task that checks them."""

    def __init__(self, layer: Any) -> None:
        self.layer = layer
        self.subscribers: dict[str, set[str]] = defaultdict(set)
        self.seen: dict[str, int] = {}
        self.reported: dict[str, int] = {}
        self.users: dict[int, set[str]] = defaultdict(set)
        #: Sockets with live lists, and the number of the current check (list members are recomputed per check).
        self.list_channels: set[str] = set()
        self.ticks = 0
        #: Per connected user, the flags their sockets were last checked against (see the module docstring).
        self.flags: dict[int, Any] = {}
        #: Connected users whose flags at connect time are still to be read.
        self.unknown: set[int] = set()
        self.task: asyncio.Task[None] | None = None
        self.baseline_task: asyncio.Task[None] | None = None
        self._users_lock = asyncio.Lock()

    # --- registration ------------------------------------------------------------

    def watch(self, stream: str, channel: str) -> None:
        self.subscribers[stream].add(channel)
        self.forget(stream)  # a new subscriber is told the head even if the others already were
        self._start()

    def unwatch(self, stream: str, channel: str) -> None:
        channels = self.subscribers.get(stream)
        if channels is not None:
            channels.discard(channel)
            if not channels:
                del self.subscribers[stream]
                self.seen.pop(stream, None)
                self.reported.pop(stream, None)
        self._stop_if_idle()

    def watch_lists(self, channel: str) -> None:
        """A socket holds live lists: send it ``realtime.list_sync`` at every check."""
        self.list_channels.add(channel)
        self._start()

    def unwatch_lists(self, channel: str) -> None:
        self.list_channels.discard(channel)
        self._stop_if_idle()

    def forget(self, stream: str) -> None:
        """Report the stream's head again at the next check (a subscriber failed to catch up)."""
        self.reported.pop(stream, None)

    def watch_user(self, user_pk: int, channel: str, *, flags: Flags | None = None) -> None:
        """Watch a connected socket's user; ``flags``: theirs as authenticated (``user_access_flags``), if known."""
        self.users[user_pk].add(channel)
        if realtime_settings.SYNC_INTERVAL > 0 and user_pk not in self.flags and user_pk not in self.unknown:
            if flags is not None:
                self.flags[user_pk] = flags
            else:
                self.unknown.add(user_pk)
                self._read_baselines_soon()
        self._start()

    def unwatch_user(self, user_pk: int, channel: str) -> None:
        channels = self.users.get(user_pk)
        if channels is not None:
            channels.discard(channel)
            if not channels:
                del self.users[user_pk]
                self.flags.pop(user_pk, None)
                self.unknown.discard(user_pk)
        self._stop_if_idle()

    def _start(self) -> None:
        interval = realtime_settings.SYNC_INTERVAL
        if interval > 0 and (self.task is None or self.task.done()):
            self.task = asyncio.get_running_loop().create_task(self.run(interval))

    def _read_baselines_soon(self) -> None:
        if self.baseline_task is None or self.baseline_task.done():
            self.baseline_task = asyncio.get_running_loop().create_task(self.read_baselines())

    def _stop_if_idle(self) -> None:
        if self.subscribers or self.users or self.list_channels:
            return
        for task in (self.task, self.baseline_task):
            if task is not None:
                task.cancel()
        self.task = self.baseline_task = None

    # --- checking ------------------------------------------------------------------

    async def run(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.check()
            except Exception:
                logger.exception("Checking stream heads and users failed; trying again in %ss.", interval)

    async def check(self) -> None:
        await self.check_streams()
        await self.check_users()
        await self.check_lists()

    async def check_lists(self) -> None:
        """Tell every socket with live lists to recompute their members (one query per distinct user and list)."""
        if not self.list_channels:
            return
        self.ticks += 1
        await self._send_all(self.list_channels, {"type": LIST_SYNC_MESSAGE, "tick": self.ticks})

    async def check_streams(self) -> None:
        """Report every stream head that stopped moving and was not yet reported to all its subscribers."""
        names = list(self.subscribers)
        if not names:
            return
        heads = await database_sync_to_async(stream_heads)(names=names)
        for name, seq in heads.items():
            stable = self.seen.get(name) == seq
            self.seen[name] = seq
            if not stable or self.reported.get(name) == seq:
                continue
            if await self._send_all(self.subscribers.get(name, ()), {"type": SYNC_MESSAGE, "stream": name, "seq": seq}):
                self.reported[name] = seq

    async def read_baselines(self) -> None:
        """Record the flags of newly connected users (one query for all of them); the next check retries a failure."""
        try:
            while self.unknown:  # users connecting during a read are read right after it
                async with self._users_lock:
                    pks = sorted(self.unknown)
                    if pks:
                        self._record(pks, await database_sync_to_async(user_flags)(pks=pks))
        except Exception:
            logger.exception("Reading the flags of newly connected users failed; the next check reads them.")

    def _record(self, pks: list[int], current: dict[int, Flags]) -> None:
        for pk in pks:
            if pk in self.unknown:
                self.unknown.discard(pk)
                if pk in self.users:
                    self.flags[pk] = _baseline(current.get(pk))

    async def check_users(self) -> None:
        """Recheck the sockets of every user whose access flags changed (or who was deleted) since they connected."""
        async with self._users_lock:
            pks = list(self.users)
            if not pks:
                return
            current = await database_sync_to_async(user_flags)(pks=pks)
            for pk in pks:
                if pk not in self.users:
                    continue  # disconnected meanwhile
                flags = current.get(pk)
                if pk in self.unknown or pk not in self.flags:  # not read since connecting: this read is the baseline
                    self.unknown.discard(pk)
                    self.flags[pk] = _baseline(flags)
                message = {"type": RECHECK_MESSAGE, "user": pk}
                if self.flags[pk] != flags and not await self._send_all(self.users.get(pk, ()), message):
                    continue  # keep the old flags: the next check sends it again
                if pk in self.users:
                    self.flags[pk] = flags

    async def _send_all(self, channels: Any, message: dict[str, Any]) -> bool:
        """Send ``message`` to each channel; ``False`` if any send failed (each failure is logged)."""
        delivered = True
        for channel in list(channels):
            try:
                await self.layer.send(channel, message)
            except Exception:
                logger.warning(
                    "Could not send %s to %s; the next check retries.", message["type"], channel, exc_info=True
                )
                delivered = False
        return delivered


_watchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, StreamWatcher] = weakref.WeakKeyDictionary()


def get_watcher(layer: Any) -> StreamWatcher:
    """The watcher of the running event loop (one per process under daphne)."""
    loop = asyncio.get_running_loop()
    watcher = _watchers.get(loop)
    if watcher is None:
        watcher = _watchers[loop] = StreamWatcher(layer)
    return watcher
