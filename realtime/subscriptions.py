"""What a socket's subscriptions need from the database: one synchronous call per step.

The consumer runs each function through ``database_sync_to_async``. Every
one first re-reads the socket's user from the credential it connected with
(``scope_user``: the session, token or user must still be valid), so a
permission check never uses a stale user, and decides everything that must
be decided together with the read it depends on:

* ``subscription_open``: the subscribe validation *after* the consumer
  joined the stream's group, the permission check (when there is history to
  read), the log read, then the check again. A change that revokes access
  and commits before the last check is seen by it; one that commits after
  it is newer than the head read, so it reaches the group with its recheck
  (which the consumer runs even for an event it already replayed), or shows
  up as a gap, which is filled only after another check.
* ``subscription_catch_up``: the events a subscription fell behind on, if
  the user may still read the stream. Never a partial replay: when the
  retained history no longer covers the gap, only the newest event is sent,
  which shows the client its gap (it then resubscribes and reloads). Nor
  one across a visibility change the socket has not been checked after: the
  events before it are skipped, the client sees the gap and reloads. A
  deleted object's final event is still sent (its payload is only the id).
* ``subscriptions_check``: which of a socket's streams the user may still
  read, with each stream's latest visibility change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from rest_framework import serializers
from rest_framework.exceptions import NotAuthenticated, NotFound
from rest_framework.request import Request

from realtime import protocol
from realtime.access import stream_authorize, streams_readable
from realtime.auth import scope_request
from realtime.log import StreamHistory, stream_head, stream_range, stream_read
from realtime.models import Notification, Stream
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
    #: Events up to this seq are skipped, not sent (they predate a visibility change).
    skip_through: int = 0
    #: The stream's latest visibility change, which the socket's check now covers.
    visibility_seq: int = 0


@dataclass
class Checked:
    user: User
    #: Per stream: whether the user may still read it.
    allowed: list[bool]
    #: Per stream: the seq of its latest visibility change (0: none).
    visibility: list[int]


def _may_read(request: Request, stream: StreamRef) -> bool:
    try:
        stream_authorize(request=request, stream=stream)
    except (NotFound, NotAuthenticated):
        return False
    return True


def subscription_open(
    *, scope: dict[str, Any], serializer_class: type[serializers.Serializer], message: dict[str, Any], limit: int
) -> Opened:
    """Validate a subscribe message for the socket's current user, then read the log after its ``since``."""
    request = scope_request(scope)
    user = request.user
    serializer = serializer_class(data=message, context={"user": user})
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    if data.get("since") is not None:
        # Before reading history: no log reads for streams the user may not see.
        stream_authorize(request=request, stream=data["stream"])
    history = stream_read(stream=data["stream"], since=data.get("since"), epoch=data.get("epoch"), limit=limit)
    # Check (again) after the read: an event that revoked this user and committed before the read is
    # in ``history`` (or below the head the subscription starts from) and must not reach them.
    stream_authorize(request=request, stream=data["stream"])
    return Opened(user=user, data=data, history=history)


def subscription_catch_up(
    *, scope: dict[str, Any], stream: StreamRef, after: int, through: int, checked_visibility: int
) -> CatchUp:
    """The logged events with ``after < seq <= through`` that the socket's user may still receive.

    ``checked_visibility`` is the latest visibility change the socket's last
    permission check came after. If the stream's visibility changed since,
    the user may not have been able to see the object before the change:
    only the events from the change on are sent.
    """
    request = scope_request(scope)
    user = request.user
    head = stream_head(stream)
    rows = stream_range(stream=stream, after=after, through=through)
    if not _may_read(request, stream):
        if rows and rows[-1].final:
            return CatchUp(user, rows[-1:], protocol.REASON_DELETED)
        return CatchUp(user, [], protocol.REASON_REVOKED)
    visibility_seq = head.visibility_seq if head else 0
    skip_through = after
    if visibility_seq > checked_visibility:
        skip_through = max(after, visibility_seq - 1)
        rows = [row for row in rows if row.seq > skip_through]
    if rows and [row.seq for row in rows] != list(range(skip_through + 1, rows[-1].seq + 1)):
        rows = rows[-1:]
    end = protocol.REASON_DELETED if rows and rows[-1].final else None
    return CatchUp(user, rows, end, skip_through=skip_through, visibility_seq=visibility_seq)


def subscriptions_check(*, scope: dict[str, Any], streams: list[StreamRef]) -> Checked:
    """The socket's current user, whether it may still read each of ``streams``, and their visibility changes."""
    request = scope_request(scope)
    user = request.user
    allowed = streams_readable(request=request, streams=streams)
    heads = dict(Stream.objects.filter(name__in=[s.name for s in streams]).values_list("name", "visibility_seq"))
    return Checked(user, allowed, [heads.get(stream.name, 0) for stream in streams])
