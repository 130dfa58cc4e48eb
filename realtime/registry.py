"""The registry of live models: which models are tracked, how, and who may see them.

An app declares a live model in a few lines (usually in its ``live.py``,
imported from ``AppConfig.ready``)::

    @registry.register
    class FooLive(LiveModel):
        model = Foo
        object_type = "foo"
        serializer_class = FooSerializer
        viewset_class = FooViewSet
        m2m_fields = ("members",)
        visibility_fields = ("owner", "members")

Every option is a class attribute with a ``get_*()`` method to override.
Visibility defaults to the REST detail view itself (``viewset_class``): a
user may subscribe to and replay an object exactly when ``GET
/api/<type>/<id>`` would show it to them. Mistakes in a declaration raise
``ImproperlyConfigured`` at start-up, saying how to fix them.
"""

from __future__ import annotations

import threading
from functools import partial
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ImproperlyConfigured, ObjectDoesNotExist
from django.db import models
from django.http import Http404, HttpRequest
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.viewsets import GenericViewSet

from realtime import protocol
from realtime.events import Event, get_event
from realtime.streams import StreamRef, object_stream

CREATED, CHANGED, DELETED = "created", "changed", "deleted"
_VERBS = {CREATED: protocol.CREATE, CHANGED: protocol.UPDATE, DELETED: protocol.DELETE}


class LiveModel:
    """Declaration of one live object type. Subclass, set the attributes, register."""

    def __init__(self) -> None:
        self._local = threading.local()

    model: ClassVar[type[models.Model]]
    object_type: ClassVar[str]
    serializer_class: ClassVar[type[serializers.BaseSerializer]]
    viewset_class: ClassVar[type[GenericViewSet]]
    #: Attribute holding the model's django-model-utils ``FieldTracker``.
    tracker_attr: ClassVar[str] = "tracker"
    #: Many-to-many fields whose changes are events too.
    m2m_fields: ClassVar[tuple[str, ...]] = ()
    #: Fields (tracked or m2m) that decide who may see an object; changing one rechecks subscribers.
    visibility_fields: ClassVar[tuple[str, ...]] = ()
    #: Redux action prefix: ``UPDATE_<type_prefix>``; defaults to the upper-cased object type.
    type_prefix: ClassVar[str | None] = None

    # --- declaration -------------------------------------------------------

    def get_object_type(self) -> str:
        return self.object_type

    def get_type_prefix(self) -> str:
        return (self.type_prefix or self.get_object_type()).upper()

    def get_tracked_fields(self) -> tuple[str, ...]:
        return tuple(getattr(self.model, self.tracker_attr).fields)

    def get_event(self, action: str) -> Event:
        """The named event for ``created``/``changed``/``deleted``: ``<app_label>:<type>:<action>``."""
        name = f"{self.model._meta.app_label}:{self.get_object_type()}:{action}"
        event = get_event(name)
        if event is None:
            action_type = protocol.action_type(_VERBS[action], self.get_type_prefix())
            event = Event(name, action_type)
        return event

    # --- behaviour ---------------------------------------------------------

    def get_stream(self, pk: int) -> StreamRef:
        return object_stream(self.get_object_type(), pk)

    def get_payload_serializer(self) -> serializers.BaseSerializer:
        """The serializer that renders payloads, built once per thread and reused for every event.

        Building a ModelSerializer's fields costs more than rendering an
        object with them; DRF's ``ListSerializer`` reuses its child the same
        way. Override ``get_payload`` if a serializer keeps per-object state.
        """
        serializer = getattr(self._local, "payload_serializer", None)
        if serializer is None:
            serializer = self._local.payload_serializer = self.serializer_class(context={"realtime": True})
        return serializer

    def get_payload(self, instance: models.Model) -> dict[str, Any]:
        """The event payload: the serializer's representation, produced once per event."""
        return self.get_payload_serializer().to_representation(instance)

    def get_visible_object(self, *, user: AbstractBaseUser | AnonymousUser, pk: int) -> models.Model:
        """Return the object if ``user`` may see it, running the REST detail view's own checks.

        Raises ``NotFound`` for unknown, forbidden and deleted objects alike,
        and ``NotAuthenticated`` when an anonymous user is refused.
        """
        view = self._detail_view(user, pk)
        try:
            view.check_permissions(view.request)
            return view.get_object()
        except (exceptions.PermissionDenied, exceptions.NotAuthenticated):
            if not user.is_authenticated:
                raise exceptions.NotAuthenticated() from None
            raise exceptions.NotFound() from None
        except (Http404, ObjectDoesNotExist, exceptions.NotFound):
            raise exceptions.NotFound() from None

    def _detail_view(self, user: AbstractBaseUser | AnonymousUser, pk: int) -> GenericViewSet:
        http_request = HttpRequest()
        http_request.method = "GET"
        request = Request(http_request)
        request.user = user
        view = self.viewset_class(action="retrieve", detail=True, action_map={"get": "retrieve"})
        lookup = view.lookup_url_kwarg or view.lookup_field
        view.request, view.args, view.kwargs, view.format_kwarg = request, (), {lookup: pk}, None
        # Same filtering, same object: only the prefetches (which can't change which objects match) are dropped.
        view.filter_queryset = partial(_without_prefetches, view.filter_queryset)
        return view

    # --- start-up checks ---------------------------------------------------

    def check(self) -> None:
        from realtime.tracking import TrackedModel

        name = type(self).__name__
        for attr in ("model", "object_type", "serializer_class", "viewset_class"):
            if not hasattr(self, attr):
                raise ImproperlyConfigured(f"{name} must set `{attr}`.")
        label = self.model._meta.label
        if not issubclass(self.model, TrackedModel):
            raise ImproperlyConfigured(
                f"{label} must inherit realtime.tracking.TrackedModel so that its save() and delete() run in one "
                f"transaction with their log append: class {self.model.__name__}(TrackedModel): ..."
            )
        tracker = getattr(self.model, self.tracker_attr, None)
        if tracker is None or not hasattr(tracker, "fields"):
            raise ImproperlyConfigured(
                f"{label} needs a django-model-utils FieldTracker: "
                f"{self.tracker_attr} = FieldTracker(fields=[...]) (or set {name}.tracker_attr)."
            )
        if not self.get_object_type().isidentifier() or self.get_object_type() != self.get_object_type().lower():
            raise ImproperlyConfigured(f"{name}.object_type must be a lower-case identifier, e.g. 'foo'.")
        if self.get_object_type() in {protocol.INBOX, "user"}:
            raise ImproperlyConfigured(f"{name}.object_type {self.get_object_type()!r} is reserved.")
        m2m = {f.name for f in self.model._meta.many_to_many}
        for field in self.m2m_fields:
            if field not in m2m:
                raise ImproperlyConfigured(f"{name}.m2m_fields: {label} has no many-to-many field {field!r}.")
        watched = set(self.get_tracked_fields()) | set(self.m2m_fields)
        for field in self.visibility_fields:
            if field not in watched:
                raise ImproperlyConfigured(
                    f"{name}.visibility_fields: {field!r} is neither tracked by {label}.{self.tracker_attr} "
                    f"nor in m2m_fields, so a change to it could not revoke subscriptions."
                )


def _without_prefetches(filter_queryset: Any, queryset: models.QuerySet) -> models.QuerySet:
    return filter_queryset(queryset).prefetch_related(None)


class Registry:
    """Live models by object type and by model class."""

    def __init__(self) -> None:
        self._by_type: dict[str, LiveModel] = {}
        self._by_model: dict[type[models.Model], LiveModel] = {}

    def register(self, live_class: type[LiveModel]) -> type[LiveModel]:
        """Register a declaration (usable as a class decorator); checks it and connects tracking."""
        from realtime.tracking import connect_live_model

        live = live_class()
        live.check()
        object_type = live.get_object_type()
        if object_type in self._by_type and type(self._by_type[object_type]) is not live_class:
            raise ImproperlyConfigured(f"Object type {object_type!r} is registered twice.")
        self._by_type[object_type] = live
        self._by_model[live.model] = live
        connect_live_model(live)
        return live_class

    def get(self, object_type: str) -> LiveModel | None:
        return self._by_type.get(object_type)

    def get_for_model(self, model: type[models.Model]) -> LiveModel:
        try:
            return self._by_model[model]
        except KeyError:
            raise ImproperlyConfigured(f"{model._meta.label} is not a registered live model.") from None

    def object_types(self) -> list[str]:
        return sorted(self._by_type)

    def stream_for(self, instance: models.Model) -> StreamRef:
        return self.get_for_model(type(instance)).get_stream(instance.pk)


registry = Registry()
