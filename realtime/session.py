"""One socket's subscriptions: where each stands, and what a live event means for it.

A ``Subscription`` follows one stream (an object's, or an inbox): the last
seq the client was sent and the latest visibility change the socket's
permission check came after. A ``ListSubscription`` follows a live list
(``realtime.lists``): its members and the seq the client has of each. The
``SubscriptionSet`` holds them by name and keeps the metrics in step. No
I/O happens here; the consumer asks and acts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from realtime import metrics
from realtime.streams import StreamRef

#: What an event's seq means for a subscription (``Subscription.place``).
DUPLICATE, NEXT, GAP = "duplicate", "next", "gap"


@dataclass
class Subscription:
    stream: StreamRef
    #: Highest seq sent to the client (or the head when it subscribed without a position).
    last_seq: int
    #: The stream's latest visibility change that the socket's last permission check came after.
    checked_visibility: int = 0

    @property
    def name(self) -> str:
        return self.stream.name

    def place(self, seq: int) -> str:
        """``duplicate`` (already sent), ``next`` (send it) or ``gap`` (fill the log's events before it first)."""
        if seq <= self.last_seq:
            return DUPLICATE
        return NEXT if seq == self.last_seq + 1 else GAP

    def sent(self, seq: int) -> None:
        self.last_seq = max(self.last_seq, seq)

    def skip_through(self, seq: int) -> None:
        """Events up to ``seq`` will not be sent (from before a visibility change the socket was not checked after)."""
        self.last_seq = max(self.last_seq, seq)

    def checked(self, visibility_seq: int) -> None:
        self.checked_visibility = max(self.checked_visibility, visibility_seq)


@dataclass
class ListSubscription:
    #: The list's key, ``<type>?<query>``: its name among the socket's subscriptions.
    key: str
    object_type: str
    #: The list endpoint's query parameters (page parameters dropped).
    params: dict[str, list[str]]
    #: Members by primary key, with the seq of their stream the client has.
    members: dict[Any, int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.key


class SubscriptionSet:
    """The subscriptions of one socket, by name."""

    def __init__(self) -> None:
        self._by_name: dict[str, Subscription | ListSubscription] = {}

    def __len__(self) -> int:
        return len(self._by_name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[Subscription | ListSubscription]:
        return iter(list(self._by_name.values()))

    def get(self, name: str) -> Subscription | ListSubscription | None:
        return self._by_name.get(name)

    def streams(self) -> list[Subscription]:
        return [sub for sub in self._by_name.values() if isinstance(sub, Subscription)]

    def lists(self, object_type: str | None = None) -> list[ListSubscription]:
        return [
            sub
            for sub in self._by_name.values()
            if isinstance(sub, ListSubscription) and (object_type is None or sub.object_type == object_type)
        ]

    def names(self) -> list[str]:
        return list(self._by_name)

    def add(self, subscription: Subscription | ListSubscription, *, replayed: int = 0) -> None:
        metrics.subscribed(new=subscription.name not in self._by_name, replayed=replayed)
        self._by_name[subscription.name] = subscription

    def drop(self, name: str) -> Subscription | ListSubscription | None:
        subscription = self._by_name.pop(name, None)
        if subscription is not None:
            metrics.unsubscribed()
        return subscription

    def clear(self) -> list[Subscription | ListSubscription]:
        dropped = list(self._by_name.values())
        self._by_name.clear()
        return dropped
