"""Who may read a stream: the one check behind subscribe, replay (WS and REST) and revocation.

An object stream is readable exactly when the object's REST detail view
would show the object for the request (``LiveModel.get_visible``: the
viewset's permission classes, ``get_queryset()`` and filter backends, with
the request's own user and auth); an inbox only by its own, active user; a
type's stream (every change to any object of a type, ``LiveModel.type_stream``)
by active users with the model's ``view`` permission.
Unknown, forbidden and deleted objects all raise ``NotFound``, so stream
names are no existence oracle. For a socket the request is built from its
handshake (``realtime.requests.socket_request``); for the REST log it is the
REST request itself.
"""

from __future__ import annotations

from collections import defaultdict

from rest_framework.exceptions import NotAuthenticated, NotFound
from rest_framework.request import Request

from realtime.registry import registry
from realtime.streams import StreamRef


def streams_readable(*, request: Request, streams: list[StreamRef]) -> list[bool]:
    """Whether ``request``'s user may read each of ``streams``: one query per object type, not per stream."""
    user = request.user
    readable = [False] * len(streams)
    by_type: dict[str, list[int]] = defaultdict(list)
    for index, stream in enumerate(streams):
        if stream.is_inbox:
            readable[index] = bool(user.is_authenticated and user.is_active and str(user.pk) == stream.object_id)
        elif stream.is_type:
            readable[index] = _may_read_type(user, stream)
        elif registry.get(stream.object_type) is not None:
            by_type[stream.object_type].append(index)
    for object_type, indexes in by_type.items():
        live = registry.get(object_type)
        pks = {index: live.pk_of(streams[index].object_id) for index in indexes}
        try:
            visible = live.get_visible(request=request, pks=pks.values())
        except NotAuthenticated:
            continue
        for index, pk in pks.items():
            readable[index] = pk in visible
    return readable


def stream_authorize(*, request: Request, stream: StreamRef) -> None:
    """Raise ``NotFound`` (``NotAuthenticated`` for anonymous users) unless ``request``'s user may read ``stream``."""
    user = request.user
    if stream.is_inbox:
        if not user.is_authenticated:
            raise NotAuthenticated()
        if str(user.pk) != stream.object_id or not user.is_active:
            raise NotFound()
        return
    if stream.is_type:
        if not user.is_authenticated:
            raise NotAuthenticated()
        if not _may_read_type(user, stream):
            raise NotFound()
        return
    live = registry.get(stream.object_type)
    if live is None:
        raise NotFound()
    live.get_visible_object(request=request, pk=live.pk_of(stream.object_id))


def _may_read_type(user: object, stream: StreamRef) -> bool:
    """A type's stream: for active users with the model's ``view`` permission (e.g. a service account)."""
    live = registry.get(stream.object_type)
    return bool(
        live is not None
        and live.type_stream
        and getattr(user, "is_active", False)
        and user.has_perm(live.get_type_permission())
    )
