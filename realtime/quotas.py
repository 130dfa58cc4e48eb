"""Per-user limits of one server process: how many sockets a user may hold, and how fast all of them may talk.

A socket's own limits (its message rate, its subscriptions, its replay
budget) live on the consumer; these are shared by every socket of a user in
the process (one event loop): ``MAX_SOCKETS_PER_USER`` sockets and
``USER_RATE_LIMIT`` messages per second (``USER_RATE_BURST`` at once). With
several processes behind a load balancer each process applies them on its
own (docs/settings.md).
"""

from __future__ import annotations

import asyncio
import weakref
from collections import defaultdict
from typing import Any

from realtime.conf import realtime_settings
from realtime.ratelimit import TokenBucket


class UserQuotas:
    """The sockets and the shared message bucket of every user connected to one process."""

    def __init__(self) -> None:
        self.sockets: dict[str, set[str]] = defaultdict(set)
        self.buckets: dict[str, TokenBucket] = {}

    def open(self, user_pk: Any, channel: str) -> bool:
        """Count a new socket of the user; ``False`` (and not counted) when the user is at the cap."""
        key = str(user_pk)
        cap = realtime_settings.MAX_SOCKETS_PER_USER
        if cap > 0 and len(self.sockets[key]) >= cap and channel not in self.sockets[key]:
            if not self.sockets[key]:
                del self.sockets[key]
            return False
        self.sockets[key].add(channel)
        return True

    def close(self, user_pk: Any, channel: str) -> None:
        key = str(user_pk)
        channels = self.sockets.get(key)
        if channels is None:
            return
        channels.discard(channel)
        if not channels:
            del self.sockets[key]
            self.buckets.pop(key, None)

    def allow_message(self, user_pk: Any) -> bool:
        """Take one message from the user's shared bucket."""
        key = str(user_pk)
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = TokenBucket(
                rate=realtime_settings.USER_RATE_LIMIT, burst=realtime_settings.USER_RATE_BURST
            )
        return bucket.allow()


_quotas: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, UserQuotas] = weakref.WeakKeyDictionary()


def get_user_quotas() -> UserQuotas:
    """The quotas of the running event loop (one per process under daphne)."""
    loop = asyncio.get_running_loop()
    quotas = _quotas.get(loop)
    if quotas is None:
        quotas = _quotas[loop] = UserQuotas()
    return quotas
