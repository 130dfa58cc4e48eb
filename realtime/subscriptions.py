"""What a socket's subscriptions need from the database: one synchronous call per step.

The consumer runs each function through ``database_sync_to_async``. Every
one first re-reads the socket's user from the credential it connected with
(``scope_user``: the session, token or user must still be valid), so a
permission check never uses a stale user, and decides everything that must
be decided together with the read it depends on:

* ``subscription_open``: the full subscribe validation, including the
  permission check, *after* the consumer joined the stream's group, then the
  log read, then (if anything is to be replayed) the check again. A change
  that revokes access and commits before the last check is seen by it; one
  that commits after the join also reaches the group with its recheck,
  which the consumer runs even for an event it already replayed.
* ``subscription_catch_up``: the events a subscription fell behind on, if
  the user may still read the stream. Never a partial replay: when the
  retained history no longer covers the gap, only the newest event is sent,
  which shows the client its gap (it then resubscribes and reloads). A
  deleted object's final event is still sent (its payload is only the id).
* ``subscriptions_check``: which of a socket's streams the user may still
  read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from rest_framework import serializers
from rest_framework.exceptions import NotAuthenticated, NotFound

from realtime import protocol
from realtime.access import stream_authorize
from realtime.auth import scope_user
from realtime.log import StreamHistory, stream_range, stream_read
from realtime.models import Notification
from realtime.streams import StreamRef

User = AbstractBaseUser | AnonymousUser


@dataclass
class Opened:
    user: User
    data: dict[str, Any]
    history: StreamHistory


@dataclass
class CatchUp:
    user: User
    #: The events to send, in order.
    notifications: list[Notification]
    #: Why the subscription ends after them (``deleted`` / ``revoked``), or ``None``.
    end: str | None


def _may_read(user: User, stream: StreamRef) -> bool:
    try:
        stream_authorize(user=user, stream=stream)
    except (NotFound, NotAuthenticated):
        return False
    return True


def subscription_open(
    *, scope: dict[str, Any], serializer_class: type[serializers.Serializer], message: dict[str, Any], limit: int
) -> Opened:
    """Validate a subscribe message for the socket's current user, then read the log after its ``since``."""
    user = scope_user(scope)
    serializer = serializer_class(data=message, context={"user": user})
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    history = stream_read(stream=data["stream"], since=data.get("since"), epoch=data.get("epoch"), limit=limit)
    if history.notifications:
        # Check again after the read: an event that revoked this user and committed between the
        # validation's check and the read is in ``history`` and must not be replayed to them.
        stream_authorize(user=user, stream=data["stream"])
    return Opened(user=user, data=data, history=history)


def subscription_catch_up(*, scope: dict[str, Any], stream: StreamRef, after: int, through: int) -> CatchUp:
    """The logged events with ``after < seq <= through`` that the socket's user may still receive."""
    user = scope_user(scope)
    rows = stream_range(stream=stream, after=after, through=through)
    if not _may_read(user, stream):
        if rows and rows[-1].final:
            return CatchUp(user, rows[-1:], protocol.REASON_DELETED)
        return CatchUp(user, [], protocol.REASON_REVOKED)
    if rows and [row.seq for row in rows] != list(range(after + 1, rows[-1].seq + 1)):
        rows = rows[-1:]
    return CatchUp(user, rows, protocol.REASON_DELETED if rows and rows[-1].final else None)


def subscriptions_check(*, scope: dict[str, Any], streams: list[StreamRef]) -> tuple[User, list[bool]]:
    """The socket's current user, and whether it may still read each of ``streams``."""
    user = scope_user(scope)
    return user, [_may_read(user, stream) for stream in streams]
