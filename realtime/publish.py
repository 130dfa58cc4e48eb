"""Publishing appended events to the channel layer, after commit.

The frame is encoded to JSON text once, when the event is appended; every
subscriber's consumer forwards that text unchanged. Publishing runs in
``transaction.on_commit(..., robust=True)``: a rolled-back transaction sends
nothing, and a channel layer that is down costs the live push only, never
the write: the event stays in the log for replay.

Publishing from synchronous code goes through one long-lived event loop per
process (``PublisherLoop``), so the layer keeps one Redis connection instead
of opening one per event (``async_to_sync`` from a thread without a loop
makes a new loop, and channels-redis a new connection, every call), and a
request thread does not queue behind the server loop's frame writes. The
in-memory layer is the exception: its queues belong to the server's loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from functools import partial
from typing import TYPE_CHECKING, Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

from realtime import metrics, protocol
from realtime.frames import event_frame
from realtime.streams import user_group

if TYPE_CHECKING:
    from realtime.models import Notification

logger = logging.getLogger(__name__)

#: Channel-layer message types, handled by ``SubscriptionConsumer.realtime_event`` / ``realtime_recheck``.
EVENT_MESSAGE = "realtime.event"
RECHECK_MESSAGE = "realtime.recheck"
#: The same event, to the object type's group, for live lists (``SubscriptionConsumer.realtime_listed``).
LIST_MESSAGE = "realtime.listed"


def event_message(notification: Notification, *, recheck: Any = None, visibility: bool = False) -> dict[str, Any]:
    """The channel-layer message for one event, carrying its pre-encoded frame.

    ``recheck`` names the users (pks as strings, or ``"*"``) whose access the
    event's transaction may have revoked; ``visibility`` says the event
    changed who may see the stream (``realtime.pending``).
    """
    return {
        "type": EVENT_MESSAGE,
        "stream": notification.stream.name,
        "seq": notification.seq,
        "text": protocol.encode(event_frame(notification)),
        "final": notification.final,
        "recheck": recheck,
        "visibility": visibility,
    }


def recheck_user_on_commit(user_pk: Any) -> None:
    """After commit, make every socket of a user re-check its subscriptions (and itself)."""
    message = {"type": RECHECK_MESSAGE, "user": str(user_pk)}
    transaction.on_commit(partial(group_send, user_group(user_pk), message), robust=True)


#: Longest wait for one publish before the event is left to the log (and the stream watcher).
PUBLISH_TIMEOUT = 5.0


class PublisherLoop:
    """An event loop in a daemon thread that runs coroutines submitted from synchronous code."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def run(self, coroutine: Coroutine[Any, Any, Any], *, timeout: float) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._running_loop()).result(timeout)

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                thread = threading.Thread(target=self._loop.run_forever, name="realtime-publisher", daemon=True)
                thread.start()
            return self._loop


publisher_loop = PublisherLoop()


def group_send(group: str, message: dict[str, Any]) -> bool:
    """Send to a group from synchronous code; log (never raise) when the layer is unavailable.

    An event's copy for live lists (``LIST_MESSAGE``) is not counted again as a published event.
    """
    layer = get_channel_layer()
    if layer is None:
        return False
    try:
        if isinstance(layer, InMemoryChannelLayer):
            async_to_sync(layer.group_send)(group, message)
        else:
            publisher_loop.run(layer.group_send(group, message), timeout=PUBLISH_TIMEOUT)
    except Exception:
        logger.warning(
            "Could not publish %s %s #%s; it stays recoverable from the log.",
            message["type"],
            message.get("stream", group),
            message.get("seq", "-"),
            exc_info=True,
        )
        metrics.publish_failed()
        return False
    if message["type"] != LIST_MESSAGE:
        metrics.published()
    return True
