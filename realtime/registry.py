"""The registry of live models: which models are tracked, how, and who may see them.

An app makes a model live in its ``live.py`` (found like ``admin.py``)::

    from realtime import live
    from snippets.views import SnippetViewSet

    @live.register
    class SnippetLive(live.LiveModel):
        viewset_class = SnippetViewSet

Everything else is derived from the viewset and its serializer: the model,
the payload serializer, the object type (the model name), the tracked fields
(the model fields the serializer renders), the many-to-many fields, the
visibility fields (foreign keys and many-to-many fields to the user model),
and the ids (hashids when the viewset's ``lookup_value_converter`` is
``"hashid"``, the primary key as text otherwise). Each is a class attribute
with a ``get_*()`` method to override.

A stream is always named by the object's primary key in that form
(``recipe.42``), also when the viewset's ``lookup_field`` is another field
(``/recipes/<slug>/``): clients subscribe with the id the REST body renders
(``id``/``pk``), or take the whole name from its ``stream`` field
(``StreamPositionField``). Payloads are the serializer's representation as
JSON values (``realtime.tracking.as_json``: UUIDs and dates as text, as
REST renders them).

Visibility is the REST detail view itself: a user may subscribe to and
replay an object exactly when the viewset's permission classes,
``get_queryset()`` and filter backends would show it to them, run on a
request carrying the socket's own user, auth, headers and query string
(``realtime.requests``). A model need not inherit anything: registering it
wraps its ``save()`` and ``delete()`` in a transaction, so its events are
logged in the same transaction as the change, for models of other apps
(``auth.User``) too. Declaration mistakes raise ``ImproperlyConfigured`` at
start-up, saying how to fix them.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterable
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured, ValidationError
from django.db import connection, models, router, transaction
from model_utils import FieldTracker
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.utils import encoders
from rest_framework.viewsets import GenericViewSet

from realtime import protocol
from realtime.events import CHANGED, CREATED, DELETED, VERBS, Event, get_event
from realtime.ids import decode_id, encode_id
from realtime.requests import payload_request
from realtime.streams import INBOX_PREFIX, StreamRef, parse_inbox

#: Object types that name the realtime app's own streams.
RESERVED_TYPES = frozenset({protocol.INBOX, INBOX_PREFIX})
_INTEGER_KEYS = {"AutoField", "BigAutoField", "SmallAutoField", "IntegerField", "BigIntegerField"}

__all__ = ["CHANGED", "CREATED", "DELETED", "LiveModel", "Registry", "registry"]


class LiveModel:
    """Declaration of one live object type. Subclass, set ``viewset_class`` (and whatever differs), register."""

    #: The REST viewset whose detail view decides visibility (required).
    viewset_class: ClassVar[type[GenericViewSet]]
    #: Default: the viewset's ``queryset`` model, else its serializer's ``Meta.model``.
    model: ClassVar[type[models.Model] | None] = None
    #: Default: the viewset's ``serializer_class``.
    serializer_class: ClassVar[type[serializers.BaseSerializer] | None] = None
    #: Default: the model name (``snippet``); a lower-case identifier, not ``inbox`` or ``user``.
    object_type: ClassVar[str | None] = None
    #: Fields whose change is an event. Default: the model's own FieldTracker at ``tracker_attr`` if it has one,
    #: else the concrete model fields the serializer renders.
    tracked_fields: ClassVar[tuple[str, ...] | None] = None
    #: Never tracked, whatever the default finds (e.g. ``("password", "last_login")``).
    untracked_fields: ClassVar[tuple[str, ...]] = ()
    #: Attribute holding the model's django-model-utils ``FieldTracker``, if it declares one.
    tracker_attr: ClassVar[str] = "tracker"
    #: Many-to-many fields whose changes are events too. Default: those the serializer renders.
    m2m_fields: ClassVar[tuple[str, ...] | None] = None
    #: Fields (tracked or m2m) that decide who may see an object; changing one rechecks subscribers.
    #: Default: the foreign keys and many-to-many fields to the user model among them.
    visibility_fields: ClassVar[tuple[str, ...] | None] = None
    #: ``"hashid"`` or ``"pk"``. Default: ``"hashid"`` when the viewset's ``lookup_value_converter`` is ``"hashid"``.
    id_style: ClassVar[str | None] = None
    #: Redux action prefix: ``UPDATE_<type_prefix>``; defaults to the upper-cased object type.
    type_prefix: ClassVar[str | None] = None
    #: Also log every change on the type's own stream, ``<object_type>``: all objects, in commit order, with its
    #: own dense seq (for services that mirror the model). Readable with the model's ``view`` permission.
    type_stream: ClassVar[bool] = False

    def __init__(self) -> None:
        self._local = threading.local()
        name = type(self).__name__
        if getattr(self, "viewset_class", None) is None:
            raise ImproperlyConfigured(f"{name} must set `viewset_class`: the REST viewset that serves the model.")
        self.model = self.get_model()
        self.serializer_class = self.get_serializer_class()
        self.object_type = self.get_object_type()
        self.tracked = self.get_tracked_fields()
        self.m2m = self.get_m2m_fields()
        self.visibility = self.get_visibility_fields()
        self.ids = self.get_id_style()

    # --- declaration -------------------------------------------------------

    def get_model(self) -> type[models.Model]:
        if self.model is not None:
            return self.model
        queryset = getattr(self.viewset_class, "queryset", None)
        if queryset is not None:
            return queryset.model
        meta = (
            getattr(self.viewset_class.serializer_class, "Meta", None) if self.viewset_class.serializer_class else None
        )
        if meta is not None and getattr(meta, "model", None) is not None:
            return meta.model
        raise ImproperlyConfigured(
            f"{type(self).__name__}: cannot tell the model from {self.viewset_class.__name__} "
            f"(no `queryset`, no `serializer_class.Meta.model`); set `model = ...`."
        )

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        serializer_class = self.serializer_class or getattr(self.viewset_class, "serializer_class", None)
        if serializer_class is None:
            raise ImproperlyConfigured(
                f"{type(self).__name__}: {self.viewset_class.__name__} has no `serializer_class`; "
                f"set `serializer_class = ...` to the serializer that renders event payloads."
            )
        return serializer_class

    def get_object_type(self) -> str:
        object_type = self.object_type or self.model._meta.model_name
        if not object_type.isidentifier() or object_type != object_type.lower():
            raise ImproperlyConfigured(
                f"{type(self).__name__}.object_type must be a lower-case identifier, e.g. 'foo'."
            )
        if object_type in RESERVED_TYPES:
            raise ImproperlyConfigured(
                f"{type(self).__name__}: object type {object_type!r} is reserved for inboxes; "
                f"set `object_type = ...` to another name (e.g. 'account')."
            )
        return object_type

    def get_type_prefix(self) -> str:
        return (self.type_prefix or self.object_type).upper()

    def _rendered_sources(self) -> list[str]:
        fields = getattr(self.serializer_class(), "fields", {})
        return [field.source for field in fields.values() if not field.write_only and field.source != "*"]

    def get_tracked_fields(self) -> tuple[str, ...]:
        own = getattr(self.model, self.tracker_attr, None)
        if self.tracked_fields is not None:
            names = list(self.tracked_fields)
        elif isinstance(own, FieldTracker) and own.fields:
            names = sorted(own.fields)
        else:
            concrete = {f.name for f in self.model._meta.concrete_fields if not f.primary_key}
            names = [name.split(".")[0] for name in self._rendered_sources()]
            names = [name for name in dict.fromkeys(names) if name in concrete] or sorted(concrete)
        names = [name for name in names if name not in self.untracked_fields]
        for name in names:
            try:
                field = self.model._meta.get_field(name)
            except FieldDoesNotExist:
                raise ImproperlyConfigured(
                    f"{type(self).__name__}.tracked_fields: {self.model._meta.label} has no field {name!r}."
                ) from None
            if field.many_to_many or not field.concrete:
                raise ImproperlyConfigured(
                    f"{type(self).__name__}.tracked_fields: {name!r} is not a concrete field; "
                    f"declare many-to-many fields in `m2m_fields`."
                )
        return tuple(names)

    def get_m2m_fields(self) -> tuple[str, ...]:
        available = {f.name for f in self.model._meta.many_to_many}
        if self.m2m_fields is None:
            return tuple(name for name in dict.fromkeys(self._rendered_sources()) if name in available)
        for name in self.m2m_fields:
            if name not in available:
                raise ImproperlyConfigured(
                    f"{type(self).__name__}.m2m_fields: {self.model._meta.label} has no many-to-many field {name!r}."
                )
        return tuple(self.m2m_fields)

    def get_visibility_fields(self) -> tuple[str, ...]:
        watched = (*self.tracked, *self.m2m)
        if self.visibility_fields is None:
            user_model = settings.AUTH_USER_MODEL
            return tuple(
                name
                for name in watched
                if (related := self.model._meta.get_field(name).related_model) is not None
                and related._meta.label == user_model
            )
        for name in self.visibility_fields:
            if name not in watched:
                raise ImproperlyConfigured(
                    f"{type(self).__name__}.visibility_fields: {name!r} is neither tracked nor in m2m_fields, "
                    f"so a change to it could not revoke subscriptions; add it to tracked_fields or m2m_fields."
                )
        return tuple(self.visibility_fields)

    def get_id_style(self) -> str:
        style = self.id_style or (
            "hashid" if getattr(self.viewset_class, "lookup_value_converter", None) == "hashid" else "pk"
        )
        if style not in {"hashid", "pk"}:
            raise ImproperlyConfigured(f"{type(self).__name__}.id_style must be 'hashid' or 'pk'.")
        if style == "hashid" and self.model._meta.pk.get_internal_type() not in _INTEGER_KEYS:
            raise ImproperlyConfigured(
                f"{type(self).__name__}: hashids need an integer primary key, {self.model._meta.label} has a "
                f"{self.model._meta.pk.get_internal_type()}; set `id_style = 'pk'`."
            )
        return style

    def get_event(self, action: str) -> Event:
        """The named event for ``created``/``changed``/``deleted``: ``<app_label>:<type>:<action>``."""
        name = f"{self.model._meta.app_label}:{self.object_type}:{action}"
        event = get_event(name)
        if event is None:
            event = Event(name, protocol.action_type(VERBS[action], self.get_type_prefix()))
        return event

    # --- ids -----------------------------------------------------------------

    def get_public_id(self, pk: Any) -> str:
        """The object's id as the REST API shows it: its hashid, or its primary key as text."""
        return encode_id(pk) if self.ids == "hashid" else str(pk)

    def parse_public_id(self, value: object) -> Any:
        """The primary key named by a public id, or ``None`` when it names none."""
        if not isinstance(value, str) or not value or len(value) > 64:
            return None
        if self.ids == "hashid":
            return decode_id(value)
        try:
            pk = self.model._meta.pk.to_python(value)
        except ValidationError:
            return None
        return pk if pk is not None and pk != "" else None

    def object_key(self, pk: Any) -> str:
        """The primary key as its database value in text (``Stream.object_id``), as SQL casts the column."""
        return str(self.model._meta.pk.get_db_prep_value(pk, connection, prepared=False))

    def pk_of(self, object_id: str) -> Any:
        """The primary key stored as ``object_id``."""
        return self.model._meta.pk.to_python(object_id)

    def get_stream(self, pk: Any) -> StreamRef:
        return StreamRef(f"{self.object_type}.{self.get_public_id(pk)}", self.object_type, self.object_key(pk))

    def get_type_stream(self) -> StreamRef:
        """The stream of every change to any object of the type (``type_stream``): named like the type."""
        return StreamRef(self.object_type, self.object_type, "")

    def get_type_permission(self) -> str:
        """The permission that lets a user read the type's stream: the model's ``view`` permission."""
        return f"{self.model._meta.app_label}.view_{self.model._meta.model_name}"

    # --- payloads ------------------------------------------------------------

    def get_payload_serializer(self) -> serializers.BaseSerializer:
        """The serializer that renders payloads, built once per thread and reused for every event.

        Building a ModelSerializer's fields costs more than rendering an
        object with them; DRF's ``ListSerializer`` reuses its child the same
        way. Override ``get_payload`` if a serializer keeps per-object state.
        """
        serializer = getattr(self._local, "payload_serializer", None)
        if serializer is None:
            context = {"realtime": True, "request": payload_request()}
            serializer = self._local.payload_serializer = self.serializer_class(context=context)
        return serializer

    def get_payload(self, instance: models.Model) -> dict[str, Any]:
        """The event payload: the serializer's representation, produced once per event, as JSON values."""
        return as_json(self.get_payload_serializer().to_representation(instance))

    def get_delete_payload(self, instance: models.Model) -> dict[str, Any]:
        """A deleted object's payload: its identity fields (``id``, ``url``, lookup field), rendered as usual."""
        serializer = self.get_payload_serializer()
        fields = getattr(serializer, "fields", {})
        lookup = getattr(self.viewset_class, "lookup_field", "pk")
        payload: dict[str, Any] = {}
        for name in dict.fromkeys(("id", "url", "pk", lookup)):
            field = fields.get(name)
            if field is None or field.write_only:
                continue
            try:
                payload[name] = field.to_representation(field.get_attribute(instance))
            except (AttributeError, KeyError, exceptions.APIException, serializers.SkipField):
                continue
        return as_json(payload or {"id": self.get_public_id(instance.pk)})

    # --- visibility ------------------------------------------------------------

    def get_detail_view(self, request: Request) -> GenericViewSet:
        """The viewset as it runs for ``GET /<type>/<id>``, on ``request``."""
        view = self.viewset_class(action="retrieve", detail=True, action_map={"get": "retrieve"})
        view.request, view.args, view.kwargs, view.format_kwarg = request, (), {}, None
        view.headers = {}
        if hasattr(view, "determine_version"):
            request.version, request.versioning_scheme = view.determine_version(request)
        return view

    def get_visible(self, *, request: Request, pks: Iterable[Any]) -> dict[Any, models.Model]:
        """The objects among ``pks`` that the REST detail view would show for ``request``, by primary key.

        One query for all of them: the view's ``get_queryset()`` and filter
        backends, filtered to ``pks``, then its object permissions per object.
        Raises ``NotAuthenticated`` when the view refuses an anonymous user.
        What cannot change which objects match is left out of that query: the
        prefetches, the stream positions, and an ordering by the model's own
        columns (``_ordering_is_droppable``).
        """
        wanted = list(pks)
        if not wanted:
            return {}
        view = self.get_detail_view(request)
        # Only which objects match counts here: no stream positions (their subqueries were a third of a check's CPU).
        view.realtime_positions = False
        try:
            view.check_permissions(request)
        except (exceptions.PermissionDenied, exceptions.NotAuthenticated, exceptions.AuthenticationFailed):
            if not getattr(request.user, "is_authenticated", False):
                raise exceptions.NotAuthenticated() from None
            return {}
        # Same filtering, same objects: only the prefetches and the ordering (which can't change which objects
        # match) are dropped. Compiling the ordering was a sixth of a check's CPU.
        queryset = view.filter_queryset(view.get_queryset()).prefetch_related(None)
        if _ordering_is_droppable(queryset.query):
            queryset = queryset.order_by()
        visible: dict[Any, models.Model] = {}
        for obj in queryset.filter(pk__in=wanted):
            try:
                view.check_object_permissions(request, obj)
            except (exceptions.PermissionDenied, exceptions.NotAuthenticated, exceptions.NotFound):
                continue
            visible[obj.pk] = obj
        return visible

    def get_visible_object(self, *, request: Request, pk: Any) -> models.Model:
        """Return the object if the request's user may see it; ``NotFound`` for unknown, forbidden and deleted alike."""
        obj = self.get_visible(request=request, pks=[pk]).get(pk)
        if obj is None:
            raise exceptions.NotFound()
        return obj


def _ordering_is_droppable(query: Any) -> bool:
    """Whether leaving out ``query``'s ordering keeps exactly the same objects matching.

    Only an ordering by the model's own columns: ordering by a relation or an
    alias joins tables (an inner join can drop rows), and an expression may
    do either. Never under ``distinct(*fields)``, where the ordering picks
    the row of each group, nor on a sliced or combined query.
    """
    if query.distinct_fields or query.is_sliced or query.combinator or query.extra_order_by:
        return False
    opts = query.get_meta()
    ordering = query.order_by or (opts.ordering if query.default_ordering else ())
    for term in ordering:
        if not isinstance(term, str):
            return False
        name = term.removeprefix("-")
        if name in ("?", "pk"):
            continue
        try:
            field = opts.get_field(name)
        except FieldDoesNotExist:
            return False
        if field.is_relation or not getattr(field, "concrete", False):
            return False
    return True


def as_json(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` as the JSON values a REST client receives, encoded the way DRF's ``JSONRenderer`` does.

    A serializer's representation may hold values ``json`` cannot store or
    send: a ``PrimaryKeyRelatedField`` to a model with a UUID key renders
    ``UUID`` objects (as do ``ReadOnlyField``s of dates or decimals); the
    renderer turns them into text, so the payload must too, or it would not
    equal the REST body and could not be logged at all.
    """
    return json.loads(json.dumps(payload, cls=encoders.JSONEncoder))


def _atomic_method(method: Any) -> Any:
    """``method`` (a model's ``save`` or ``delete``) run in one transaction with the events it logs."""

    @functools.wraps(method)
    def atomic(self: models.Model, *args: Any, **kwargs: Any) -> Any:
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=using, savepoint=False):
            return method(self, *args, **kwargs)

    atomic._realtime_atomic = True  # type: ignore[attr-defined]
    return atomic


def make_writes_atomic(model: type[models.Model]) -> None:
    """Wrap ``model.save`` and ``model.delete`` in a transaction (once), unless they already are."""
    for name in ("save", "delete"):
        method = getattr(model, name)
        if not getattr(method, "_realtime_atomic", False):
            setattr(model, name, _atomic_method(method))


class Registry:
    """Live models by object type and by model class."""

    def __init__(self) -> None:
        self._by_type: dict[str, LiveModel] = {}
        self._by_model: dict[type[models.Model], LiveModel] = {}

    def register(self, live_class: type[LiveModel]) -> type[LiveModel]:
        """Register a declaration (usable as a class decorator); checks it and connects tracking."""
        from realtime.tracking import connect_live_model
        from realtime.writes import make_writes_live

        live = live_class()
        if live.object_type in self._by_type:
            raise ImproperlyConfigured(
                f"Object type {live.object_type!r} is registered twice "
                f"({type(self._by_type[live.object_type]).__name__} and {live_class.__name__})."
            )
        concrete = live.model._meta.concrete_model
        if concrete in self._by_model:
            raise ImproperlyConfigured(
                f"{concrete._meta.label} is registered twice ({type(self._by_model[concrete]).__name__} and "
                f"{live_class.__name__}); one model has one live declaration."
            )
        make_writes_atomic(live.model)
        make_writes_live(live.model)
        self._by_type[live.object_type] = live
        self._by_model[concrete] = live
        connect_live_model(live)
        return live_class

    def get(self, object_type: str) -> LiveModel | None:
        return self._by_type.get(object_type)

    def get_for_model(self, model: type[models.Model]) -> LiveModel:
        try:
            return self._by_model[model._meta.concrete_model]
        except KeyError:
            raise ImproperlyConfigured(f"{model._meta.label} is not a registered live model.") from None

    def is_live(self, model: type[models.Model]) -> bool:
        return model._meta.concrete_model in self._by_model

    def object_types(self) -> list[str]:
        return sorted(self._by_type)

    def declarations(self) -> list[LiveModel]:
        return [self._by_type[name] for name in sorted(self._by_type)]

    def stream_for(self, instance: models.Model) -> StreamRef:
        return self.get_for_model(type(instance)).get_stream(instance.pk)

    def parse_stream(self, name: object) -> StreamRef | None:
        """Parse ``<type>.<public id>`` or ``user.<id>``; ``None`` when malformed or of no registered type."""
        if not isinstance(name, str) or not name or len(name) > 150:
            return None
        if "." not in name:
            live = self.get(name)
            return live.get_type_stream() if live is not None and live.type_stream else None
        prefix, public_id = name.split(".", 1)
        if prefix == INBOX_PREFIX:
            return parse_inbox(public_id)
        live = self.get(prefix)
        if live is None:
            return None
        pk = live.parse_public_id(public_id)
        return None if pk is None else live.get_stream(pk)


registry = Registry()
