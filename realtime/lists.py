"""Live lists: keep ``GET /api/<type>/?<params>`` live for one user, decided by the list view's own code.

A list subscription names a live type and the query parameters of its list
endpoint (page parameters dropped: the subscription covers the whole
filtered set). Membership is exactly what the viewset's ``list`` action
would return for the socket's user: its permission classes,
``get_queryset()`` and filter backends (search, ordering, django-filter...),
run on a request carrying the socket's user, auth and headers and the list's
query parameters (``list_view_queryset``).

Every committed change of an object of a live type is also published to the
type's group (``type_group``). A socket with list subscriptions of that
type is in the group, and for each such event asks whether the object is in
each of its lists now. That answer costs one query, and is shared by every
socket of the process with the same user and list (``ListMemberships``): at
most one query per event per process per distinct (user, list). The frames
are the object's event frame with ``meta.list`` and ``meta.membership``
spliced in (no decoding), or a ``LEAVE_<TYPE>`` frame whose payload is only
the id.

Opening a list (``list_open``) reads its members with their streams' seqs
and visibility changes in one query and compares them with what the client
says it has (``have``): members it lacks or has at an older seq are sent
with their current state (``enter`` / ``update``), objects it has that are
no longer members are sent as ``leave``.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.db.models import CharField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Cast
from django.http import QueryDict
from django.utils import timezone
from rest_framework import exceptions, serializers
from rest_framework.request import Request

from realtime import protocol
from realtime.frames import timestamp
from realtime.models import Stream
from realtime.registry import LiveModel, registry
from realtime.streams import type_group  # noqa: F401  (re-exported: the group lists listen to)

#: Longest list query string a client may subscribe to.
MAX_QUERY_LENGTH = 2048


@dataclass(frozen=True)
class ListTarget:
    """A validated list subscription: its type, its query parameters and its key."""

    object_type: str
    params: tuple[tuple[str, tuple[str, ...]], ...]
    #: ``{public id: seq}`` the client says it has.
    have: tuple[tuple[str, int], ...] = ()

    @property
    def key(self) -> str:
        return list_key(self.object_type, self.params)

    @property
    def name(self) -> str:
        return self.key

    def query(self) -> dict[str, list[str]]:
        return {name: list(values) for name, values in self.params}


def list_params(raw: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Validate a message's ``list`` (query parameters: strings or lists of strings); page parameters dropped."""
    if not isinstance(raw, dict):
        raise serializers.ValidationError("Must be an object of query parameters.")
    params: dict[str, tuple[str, ...]] = {}
    for name, value in raw.items():
        values = value if isinstance(value, list) else [value]
        if not name or len(name) > 64 or len(values) > 20:
            raise serializers.ValidationError(f"{name!r}: at most 20 values, names of 1 to 64 characters.")
        if not all(isinstance(item, str) and len(item) <= 256 for item in values):
            raise serializers.ValidationError(f"{name!r}: values must be strings of at most 256 characters.")
        if name not in protocol.LIST_IGNORED_PARAMS:
            params[name] = tuple(values)
    result = tuple(sorted(params.items()))
    if len(urlencode([(n, v) for n, vs in result for v in vs])) > MAX_QUERY_LENGTH:
        raise serializers.ValidationError(f"The list's query is longer than {MAX_QUERY_LENGTH} characters.")
    return result


def list_key(object_type: str, params: tuple[tuple[str, tuple[str, ...]], ...]) -> str:
    """``<type>?<sorted query string>``: the list subscription's name."""
    return f"{object_type}?{urlencode([(name, value) for name, values in params for value in values])}"


# --- what the list view shows -----------------------------------------------------


def list_request(request: Request, query: dict[str, list[str]]) -> Request:
    """``request`` (the socket's) with the list's query parameters instead of the socket URL's."""
    http = request._request
    copy = type(http)()
    copy.method = "GET"
    copy.path = copy.path_info = http.path
    copy.META = {**http.META, "QUERY_STRING": urlencode([(n, v) for n, vs in query.items() for v in vs])}
    copy.GET = QueryDict(copy.META["QUERY_STRING"])
    copy.COOKIES = http.COOKIES
    listed = Request(copy)
    listed.user = request.user
    listed.auth = request.auth
    return listed


def list_view_queryset(live: LiveModel, request: Request) -> QuerySet:
    """What the viewset's ``list`` action would return for ``request``, as a queryset (``PermissionDenied`` raised)."""
    view = live.viewset_class(action="list", detail=False, action_map={"get": "list"})
    view.request, view.args, view.kwargs, view.format_kwarg = request, (), {}, None
    view.headers = {}
    if hasattr(view, "determine_version"):
        request.version, request.versioning_scheme = view.determine_version(request)
    try:
        view.check_permissions(request)
    except (exceptions.PermissionDenied, exceptions.NotAuthenticated, exceptions.AuthenticationFailed):
        if not request.user.is_authenticated:
            raise exceptions.NotAuthenticated() from None
        raise exceptions.NotFound() from None
    queryset = view.filter_queryset(view.get_queryset()).prefetch_related(None)
    # Ordering matters to the REST page, not to membership; a bare ``.distinct()`` stays valid without it.
    return queryset.order_by()


def _with_positions(live: LiveModel, queryset: QuerySet) -> QuerySet:
    key = Cast(OuterRef("pk"), output_field=CharField())
    streams = Stream.objects.filter(object_type=live.object_type, object_id=key)
    return queryset.annotate(
        realtime_seq=Subquery(streams.values("seq")[:1]),
        realtime_epoch=Subquery(streams.values("epoch")[:1]),
        realtime_visibility=Subquery(streams.values("visibility_seq")[:1]),
    )


@dataclass
class ListOpened:
    target: ListTarget
    #: Members by primary key, with their stream's seq.
    members: dict[Any, int]
    #: The frames to send, as dicts (``events`` frames are made of them).
    frames: list[dict[str, Any]] = field(default_factory=list)


def list_open(*, request: Request, target: ListTarget, limit: int) -> ListOpened:
    """The list's members now, and the frames that bring a client holding ``target.have`` up to date."""
    live = registry.get(target.object_type)
    if live is None:
        raise exceptions.NotFound()
    queryset = _with_positions(live, list_view_queryset(live, list_request(request, target.query())))
    objects = list(queryset[: limit + 1])
    if len(objects) > limit:
        raise exceptions.ValidationError(
            {"list": f"The list has more than {limit} members; subscribe to a narrower one."}, code="invalid"
        )
    have = {}
    for public_id, seq in target.have:
        pk = live.parse_public_id(public_id)
        if pk is not None:
            have[pk] = seq
    opened = ListOpened(target, {obj.pk: obj.realtime_seq or 0 for obj in objects})
    for obj in objects:
        seq = obj.realtime_seq or 0
        if obj.pk in have and have[obj.pk] >= seq:
            continue
        membership = protocol.MEMBERSHIP_UPDATE if obj.pk in have else protocol.MEMBERSHIP_ENTER
        opened.frames.append(_state_frame(live, obj, target.key, membership))
    gone = [pk for pk in have if pk not in opened.members]
    if gone:
        heads = dict(
            Stream.objects.filter(
                object_type=live.object_type, object_id__in=[live.object_key(pk) for pk in gone]
            ).values_list("object_id", "seq")
        )
        for pk in gone:
            opened.frames.append(leave_frame(live, pk, seq=heads.get(live.object_key(pk), 0), key=target.key))
    return opened


def _state_frame(live: LiveModel, obj: Any, key: str, membership: str) -> dict[str, Any]:
    """A member's current state as an event frame (``UPDATE_<TYPE>``) marked for the list."""
    stream = live.get_stream(obj.pk)
    return {
        "type": protocol.action_type(protocol.UPDATE, live.get_type_prefix()),
        "payload": live.get_payload(obj),
        "meta": {
            "stream": stream.name,
            "epoch": obj.realtime_epoch,
            "seq": obj.realtime_seq or 0,
            "event": live.get_event("changed").name,
            "object_type": live.object_type,
            "id": stream.public_id,
            "list": key,
            "membership": membership,
        },
    }


def leave_frame(live: LiveModel, pk: Any, *, seq: int, key: str, epoch: str | None = None) -> dict[str, Any]:
    """``LEAVE_<TYPE>``: the object is no longer in the list; only its id is told."""
    stream = live.get_stream(pk)
    return {
        "type": protocol.action_type(protocol.LEAVE, live.get_type_prefix()),
        "payload": {"id": stream.public_id},
        "meta": {
            "stream": stream.name,
            "epoch": epoch,
            "seq": seq,
            "event": live.get_event("changed").name,
            "object_type": live.object_type,
            "id": stream.public_id,
            "at": timestamp(timezone.now()),
            "list": key,
            "membership": protocol.MEMBERSHIP_LEAVE,
        },
    }


def list_member(*, request: Request, target: ListTarget, pk: Any) -> tuple[bool, int]:
    """Whether the object is in the list now, and its stream's latest visibility change (one query)."""
    live = registry.get(target.object_type)
    try:
        queryset = list_view_queryset(live, list_request(request, target.query()))
    except (exceptions.NotFound, exceptions.NotAuthenticated):
        return False, 0
    rows = list(_with_positions(live, queryset.filter(pk=pk)).values_list("pk", "realtime_visibility")[:1])
    return (True, rows[0][1] or 0) if rows else (False, 0)


def list_members(*, request: Request, target: ListTarget, limit: int) -> dict[Any, tuple[int, dict[str, Any]]]:
    """The list's members now, ``{pk: (seq, current-state frame)}`` (one query), for the periodic re-check."""
    live = registry.get(target.object_type)
    try:
        queryset = list_view_queryset(live, list_request(request, target.query()))
    except (exceptions.NotFound, exceptions.NotAuthenticated):
        return {}
    objects = _with_positions(live, queryset)[:limit]
    return {obj.pk: (obj.realtime_seq or 0, _state_frame(live, obj, target.key, "")) for obj in objects}


# --- frames -------------------------------------------------------------------------


def list_frame_text(text: str, *, key: str, membership: str) -> str:
    """The object's pre-encoded event frame with ``meta.list`` and ``meta.membership`` added, without decoding it.

    ``realtime.frames.event_frame`` puts ``meta`` last, so its encoding ends with ``}}``.
    """
    extra = f',"list":{json.dumps(key, ensure_ascii=False)},"membership":"{membership}"'
    return f"{text[:-2]}{extra}}}}}"


def leave_frame_from_event(text: str, *, key: str) -> dict[str, Any]:
    """A leave frame for the object of an event frame (its ``meta``, only its id as payload)."""
    frame = json.loads(text)
    meta = frame["meta"]
    live = registry.get(meta["object_type"])
    prefix = live.get_type_prefix() if live is not None else meta["object_type"].upper()
    leave_type = frame["type"] if frame["type"].startswith(f"{protocol.DELETE}_") else None
    return {
        "type": leave_type or protocol.action_type(protocol.LEAVE, prefix),
        "payload": {"id": meta["id"]},
        "meta": {**meta, "list": key, "membership": protocol.MEMBERSHIP_LEAVE},
    }


# --- one answer per event per process per (user, list) ---------------------------------


class ListMemberships:
    """Shares membership answers between the sockets of one process (one event loop)."""

    def __init__(self, *, size: int = 4096) -> None:
        self.size = size
        self._answers: dict[tuple[Any, ...], asyncio.Future[tuple[bool, int]]] = {}

    async def member(
        self, key: tuple[Any, ...], compute: Callable[[], Awaitable[tuple[bool, int]]]
    ) -> tuple[bool, int]:
        """``compute()``'s answer for ``key`` (event, user, list), computed once however many sockets ask."""
        future = self._answers.get(key)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._answers[key] = future
            if len(self._answers) > self.size:
                for old in list(self._answers)[: len(self._answers) - self.size]:
                    if self._answers[old].done():
                        del self._answers[old]
            try:
                future.set_result(await compute())
            except BaseException as exc:
                del self._answers[key]
                future.set_exception(exc)
                future.exception()  # retrieved: the caller re-raises it
                raise
        return await asyncio.shield(future)


_memberships: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ListMemberships] = weakref.WeakKeyDictionary()


def get_memberships() -> ListMemberships:
    loop = asyncio.get_running_loop()
    memberships = _memberships.get(loop)
    if memberships is None:
        memberships = _memberships[loop] = ListMemberships()
    return memberships
