"""Who may read a stream: the one check behind subscribe, replay (WS and REST) and revocation.

An object stream is readable exactly when the object's REST detail view would
show the object to the user (``LiveModel.get_visible_object``); an inbox only
by its own user. Unknown, forbidden and deleted objects all raise
``NotFound``, so stream names are no existence oracle.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from rest_framework.exceptions import NotAuthenticated, NotFound

from realtime.registry import registry
from realtime.streams import StreamRef


def stream_authorize(*, user: AbstractBaseUser | AnonymousUser, stream: StreamRef) -> None:
    """Raise ``NotFound`` (or ``NotAuthenticated`` for anonymous users) unless ``user`` may read ``stream``."""
    if stream.is_inbox:
        if not user.is_authenticated:
            raise NotAuthenticated()
        if user.pk != stream.object_id or not user.is_active:
            raise NotFound()
        return
    live = registry.get(stream.object_type)
    if live is None:
        raise NotFound()
    live.get_visible_object(user=user, pk=stream.object_id)
