"""What a socket's subscriptions need from the database: one synchronous call per step, for many streams at once.

The consumer runs each function through ``realtime.db.run_db``. Each takes
the socket's handshake scope with the user and ``request.auth`` it
authenticated with (checked once per socket, and again when a recheck says
they may have been revoked), builds the request the REST views would see
(``realtime.requests.socket_request``), and decides everything that must be
decided together with the read it depends on:

* opening a subscribe, *after* the consumer joined the streams' groups
  (``realtime.opening`` runs the steps). Where the database gives one
  snapshot to the check and the read (``realtime.snapshots``),
  ``subscriptions_checked_read`` checks the entries of many sockets and reads
  the history of those that passed in it, and nothing is checked after the
  read. Elsewhere, three steps: ``subscriptions_refused``, the
  permission check for entries with history to read; ``subscriptions_read``,
  the log read (shared with other sockets opening at the same time,
  ``realtime.reads``); ``open_targets``, the check again, and the live lists.
  Checks cost one query per object type, the read one query for the heads
  and one for the rows, however many entries there are. A change that
  revokes access and commits before the last check is seen by it; one that
  commits after it is newer than the head read, so it reaches the group
  with its recheck (which the consumer runs even for an event it already
  replayed), or shows up as a gap, which is filled only after another check.
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

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import DatabaseError
from rest_framework.exceptions import APIException, NotAuthenticated, NotFound
from rest_framework.request import Request

from realtime import protocol
from realtime.access import stream_authorize, streams_readable
from realtime.log import StreamHistory, stream_head, stream_range, stream_read, streams_read
from realtime.models import Notification, Stream
from realtime.requests import socket_request
from realtime.snapshots import read_only_snapshot
from realtime.streams import StreamRef

User = AbstractBaseUser | AnonymousUser
#: A log read: the stream, and the client's ``since`` and ``epoch``.
Read = tuple[StreamRef, int | None, str | None]


@dataclass
class Target:
    """One entry of a subscribe message, validated (``realtime.serializers.SubscribeSerializer``)."""

    stream: StreamRef
    since: int | None = None
    epoch: str | None = None


@dataclass
class Opened:
    target: Target
    history: StreamHistory


@dataclass
class CatchUp:
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
    #: Per stream: whether the user may still read it.
    allowed: list[bool]
    #: Per stream: the seq of its latest visibility change (0: none).
    visibility: list[int] = field(default_factory=list)


def _refused(request: Request) -> APIException:
    return NotFound() if request.user.is_authenticated else NotAuthenticated()


def subscriptions_refused(
    *, scope: dict[str, Any], user: User, auth: Any, targets: list[Target]
) -> list[APIException | None]:
    """The check before the log read: per target, the error to answer if it has ``since`` and the user may not
    read its stream (no log reads for streams the user may not see), else ``None``."""
    refused: list[APIException | None] = [None] * len(targets)
    with_since = [index for index, target in enumerate(targets) if target.since is not None]
    if not with_since:
        return refused
    request = socket_request(scope=scope, user=user, auth=auth)
    for index, error in zip(with_since, _refusals(request, [targets[index] for index in with_since]), strict=True):
        refused[index] = error
    return refused


def _refusals(request: Request, targets: list[Target]) -> list[APIException | None]:
    readable = streams_readable(request=request, streams=[target.stream for target in targets])
    return [None if ok else _refused(request) for ok in readable]


@dataclass
class Opening:
    """One socket's stream targets, to be checked and read in a snapshot shared with other sockets."""

    scope: dict[str, Any]
    user: User
    auth: Any
    targets: list[Target]


def subscriptions_checked_read(
    *, openings: list[Opening], limit: int, using: str
) -> list[list[StreamHistory | APIException] | None]:
    """Per opening, per target in order: its history, or the error its check answers. Every check and then one
    log read for all targets that passed, in one snapshot of ``using`` (``realtime.snapshots``): what the check
    saw is what the read saw, so the history needs no check after it.

    An opening whose check raises something other than a database error is answered ``None`` (open it the
    three-step way, which answers that error): the others' checks go on in the snapshot. A database error
    aborts the transaction, so it is raised for the whole batch."""
    with read_only_snapshot(using=using):
        refusals = [_opening_refusals(opening) for opening in openings]
        passed = [
            []
            if refused is None
            else [
                (t.stream, t.since, t.epoch) for t, error in zip(opening.targets, refused, strict=True) if error is None
            ]
            for opening, refused in zip(openings, refusals, strict=True)
        ]
        histories = subscriptions_shared_read(reads=passed, limit=limit)
    answers: list[list[StreamHistory | APIException] | None] = []
    for refused, read in zip(refusals, histories, strict=True):
        if refused is None:
            answers.append(None)
            continue
        read_in_order = iter(read)
        answers.append([error if error is not None else next(read_in_order) for error in refused])
    return answers


def _opening_refusals(opening: Opening) -> list[APIException | None] | None:
    request = socket_request(scope=opening.scope, user=opening.user, auth=opening.auth)
    try:
        return _refusals(request, opening.targets)
    except DatabaseError:
        raise
    except Exception:  # the view's own code failed for this request: the three-step way answers it
        return None


def subscriptions_shared_read(*, reads: list[list[Read]], limit: int) -> list[list[StreamHistory]]:
    """Per socket, the history of each of its ``(stream, since, epoch)``, in order: one ``subscriptions_read`` of
    the distinct ones for all of them (each answer is what that stream read alone would give)."""
    unique: dict[tuple[str, int | None, str | None], Read] = {}
    for socket_reads in reads:
        for read in socket_reads:
            unique.setdefault(_read_key(read), read)
    read_once = subscriptions_read(reads=list(unique.values()), limit=limit) if unique else []
    by_key = dict(zip(unique, read_once, strict=True))
    return [
        [dataclasses.replace(by_key[_read_key(read)], stream=read[0]) for read in socket_reads]
        for socket_reads in reads
    ]


def _read_key(read: Read) -> tuple[str, int | None, str | None]:
    stream, since, epoch = read
    return (stream.name, since, epoch)


def subscriptions_read(*, reads: list[Read], limit: int) -> list[StreamHistory]:
    """The log read of ``(stream, since, epoch)`` entries: the heads, and the rows after each ``since``."""
    if len(reads) == 1:
        stream, since, epoch = reads[0]
        return [stream_read(stream=stream, since=since, epoch=epoch, limit=limit)]
    return streams_read(reads=reads, limit=limit)


def open_targets(
    *,
    scope: dict[str, Any],
    user: User,
    auth: Any,
    targets: list[Any],
    histories: list[StreamHistory | APIException],
    list_limit: int,
    checked: bool = False,
) -> list[Any]:
    """The last step of a subscribe, in order of ``targets``: each stream target whose history was read is
    checked again (``Opened``, or the error to answer); each list target is opened (``realtime.lists.list_open``).

    ``histories`` holds, per stream target in order, its history or the error its first check answered.
    The check after the read is what a revoking event committed before the read (so in the history, or
    below the head the subscription starts from) meets: it must not reach the user. ``checked``: the
    histories were read in the snapshot their check saw (``subscriptions_checked_read``), so none is
    checked again.
    """
    from realtime.lists import ListTarget, list_open

    request = socket_request(scope=scope, user=user, auth=auth)
    results: list[Any] = [None] * len(targets)
    streams = [index for index, target in enumerate(targets) if not isinstance(target, ListTarget)]
    read = [(index, history) for index, history in zip(streams, histories, strict=True)]
    for index, history in read:
        if isinstance(history, APIException):
            results[index] = history
    reading = [(index, history) for index, history in read if not isinstance(history, APIException)]
    if checked:
        readable = [True] * len(reading)
    else:
        readable = streams_readable(request=request, streams=[targets[index].stream for index, _ in reading])
    for (index, history), ok in zip(reading, readable, strict=True):
        results[index] = Opened(targets[index], history) if ok else _refused(request)
    for index, target in enumerate(targets):
        if isinstance(target, ListTarget):
            try:
                results[index] = list_open(request=request, target=target, limit=list_limit)
            except APIException as exc:
                results[index] = exc
    return results


def _may_read(request: Request, stream: StreamRef) -> bool:
    try:
        stream_authorize(request=request, stream=stream)
    except (NotFound, NotAuthenticated):
        return False
    return True


def subscription_catch_up(
    *,
    scope: dict[str, Any],
    user: User,
    auth: Any,
    stream: StreamRef,
    after: int,
    through: int,
    checked_visibility: int,
) -> CatchUp:
    """The logged events with ``after < seq <= through`` that the socket's user may still receive.

    ``checked_visibility`` is the latest visibility change the socket's last
    permission check came after. If the stream's visibility changed since,
    the user may not have been able to see the object before the change:
    only the events from the change on are sent.
    """
    request = socket_request(scope=scope, user=user, auth=auth)
    head = stream_head(stream)
    rows = stream_range(stream=stream, after=after, through=through)
    if not _may_read(request, stream):
        if rows and rows[-1].final:
            return CatchUp(rows[-1:], protocol.REASON_DELETED)
        return CatchUp([], protocol.REASON_REVOKED)
    visibility_seq = head.visibility_seq if head else 0
    skip_through = after
    if visibility_seq > checked_visibility:
        skip_through = max(after, visibility_seq - 1)
        rows = [row for row in rows if row.seq > skip_through]
    if rows and [row.seq for row in rows] != list(range(skip_through + 1, rows[-1].seq + 1)):
        rows = rows[-1:]
    end = protocol.REASON_DELETED if rows and rows[-1].final else None
    return CatchUp(rows, end, skip_through=skip_through, visibility_seq=visibility_seq)


def subscriptions_check(*, scope: dict[str, Any], user: User, auth: Any, streams: list[StreamRef]) -> Checked:
    """Whether the user may still read each of ``streams``, and the streams' latest visibility changes."""
    request = socket_request(scope=scope, user=user, auth=auth)
    allowed = streams_readable(request=request, streams=streams)
    heads = dict(Stream.objects.filter(name__in=[s.name for s in streams]).values_list("name", "visibility_seq"))
    return Checked(allowed, [heads.get(stream.name, 0) for stream in streams])
