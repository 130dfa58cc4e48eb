"""``LiveViewSetMixin``: REST responses that tell the client where to subscribe from.

List and detail reads annotate each object with its stream's ``seq`` and
``epoch`` in the same SELECT (one snapshot, so object and position agree),
except on a view that only checks visibility (``realtime_positions = False``).
Creates, updates and deletes run in one transaction, and an update or
delete locks the object's row before it reads it (``SELECT ... FOR UPDATE``
on the row alone, by the lookup: the viewset's own queryset may be
``.distinct()`` or grouped, which cannot be locked; and only inside that
transaction: DRF's ``OPTIONS`` metadata also reads the object for a PUT,
outside any transaction, where the lock is not allowed). DRF saves the whole
row it read, so without the lock a concurrent change committed in between
would be overwritten, and when the overwrite changes no tracked field
(relative to the stale read) the log would never record it.
Each event the write appends sets the instance's position
(``realtime.tracking``), so the response carries the seq of the last event
the write appended, or, when it changed nothing tracked, the position read
with the object.

Only the write actions the viewset has are wrapped: a read-only viewset
(or one without ``DestroyModelMixin``) gains no ``create``/``destroy``,
so its router routes no POST/DELETE to it (they stay 405, not a 500).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import CharField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Cast
from rest_framework.request import Request
from rest_framework.response import Response


class LiveViewSetMixin:
    #: True while a write's transaction runs: reads of the object then lock its row.
    _locking_reads = False
    #: False on a view that only decides which objects a user may see (``LiveModel.get_visible``):
    #: its reads then skip the stream positions, which change what each row carries, never which rows match.
    realtime_positions = True

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        # filter_queryset (not get_queryset, which apps override) runs for list and detail alike.
        from realtime.models import Stream
        from realtime.registry import registry

        queryset = super().filter_queryset(queryset)
        if not self.realtime_positions:
            return queryset
        live = registry.get_for_model(queryset.model)
        key = Cast(OuterRef("pk"), output_field=CharField())
        streams = Stream.objects.filter(object_type=live.object_type, object_id=key)
        return queryset.annotate(
            realtime_seq=Subquery(streams.values("seq")[:1]),
            realtime_epoch=Subquery(streams.values("epoch")[:1]),
        )

    def get_object(self) -> Any:
        if self._locking_reads:
            lookup = self.lookup_url_kwarg or self.lookup_field
            if lookup in self.kwargs:
                # Lock the row first (on the model's own table, whatever the viewset's queryset does), then read it.
                model = self.get_queryset().model
                rows = model._default_manager.select_for_update()
                # A lookup value of the wrong form (``abc`` for an integer key) locks nothing: the read answers 404.
                with suppress(TypeError, ValueError, ValidationError):
                    list(rows.filter(**{self.lookup_field: self.kwargs[lookup]}).values_list("pk", flat=True))
        return super().get_object()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, wrap in (
            ("create", _in_transaction),
            ("update", _in_write_transaction),
            ("destroy", _in_write_transaction),
        ):
            method = getattr(cls, name, None)
            if method is not None and not getattr(method, "_realtime_write", False):
                setattr(cls, name, wrap(method))

    @contextmanager
    def write_transaction(self) -> Iterator[None]:
        """The transaction of an update or delete; the object's row is locked when read inside it."""
        with transaction.atomic():
            locking, self._locking_reads = self._locking_reads, True
            try:
                yield
            finally:
                self._locking_reads = locking


def _in_transaction(method: Callable[..., Response]) -> Callable[..., Response]:
    """A create action run in one transaction: the object, its many-to-many members and their one event."""

    @functools.wraps(method)
    def create(self: LiveViewSetMixin, request: Request, *args: Any, **kwargs: Any) -> Response:
        with transaction.atomic():
            return method(self, request, *args, **kwargs)

    create._realtime_write = True  # type: ignore[attr-defined]
    return create


def _in_write_transaction(method: Callable[..., Response]) -> Callable[..., Response]:
    """An update or destroy action run in ``write_transaction`` (``partial_update`` calls ``update``)."""

    @functools.wraps(method)
    def write(self: LiveViewSetMixin, request: Request, *args: Any, **kwargs: Any) -> Response:
        with self.write_transaction():
            return method(self, request, *args, **kwargs)

    write._realtime_write = True  # type: ignore[attr-defined]
    return write
