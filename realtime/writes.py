"""Every ORM write path of a live model is logged: ``QuerySet.update()``, ``bulk_create()``, ``bulk_update()``.

``save()`` and ``delete()`` send model signals, which ``realtime.tracking``
turns into events; ``QuerySet.delete()`` does too, since Django's collector
sends ``post_delete`` for each row of a model that has receivers (and runs
in a transaction). The bulk paths send no signals, so registering a model
gives its managers a queryset class with those three methods wrapped (per
model: the model's managers are switched to a subclass of their own class,
so custom managers and querysets keep working, and related managers, which
Django derives from the default manager's class, get it too):

* ``update(**fields)``: in one transaction, the matching rows are locked and
  their tracked values read, the update runs on exactly those rows, and each
  row whose tracked values changed is logged like a ``save()``;
* ``bulk_create(objs)``: each created object (one that got its primary key
  back: always on PostgreSQL and SQLite) is logged as created, in the same
  transaction. Rows skipped by ``ignore_conflicts`` are not logged; rows
  upserted by ``update_conflicts`` are logged as created;
* ``bulk_update(objs, fields)``: the tracked values are read first, and each
  object whose tracked values changed is logged.

Database triggers would also catch raw SQL, but an event's payload is the
model's DRF serializer output, which only Python can render; raw SQL (and
writes from other programs) is therefore not tracked: follow it with
``events.send`` or a ``save()``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db import models, transaction
from django.db.utils import NotSupportedError

from realtime.events import CHANGED, CREATED
from realtime.pending import EVERYONE

if TYPE_CHECKING:
    from realtime.registry import LiveModel


class LiveQuerySetMixin:
    """The bulk write methods of a live model's querysets, logged (see the module docstring)."""

    def _live(self) -> LiveModel | None:
        from realtime.registry import registry

        return registry.get_for_model(self.model) if registry.is_live(self.model) else None

    def update(self, **kwargs: Any) -> int:
        live = self._live()
        tracked = _tracked_names(live, kwargs) if live is not None else set()
        if not tracked:
            return super().update(**kwargs)
        with transaction.atomic(using=self.db, savepoint=False):
            before = _tracked_values(_locked(self), tracked)
            count = models.QuerySet.update(self.model._base_manager.using(self.db).filter(pk__in=before), **kwargs)
            after = self.model._base_manager.using(self.db).filter(pk__in=before)
            for obj in after:
                _record_change(live, obj, before[obj.pk], tracked)
        return count

    update.alters_data = True  # type: ignore[attr-defined]

    def bulk_create(self, objs: Iterable[models.Model], *args: Any, **kwargs: Any) -> list[models.Model]:
        from realtime.tracking import object_event_record

        live = self._live()
        if live is None:
            return super().bulk_create(objs, *args, **kwargs)
        with transaction.atomic(using=self.db, savepoint=False):
            created = super().bulk_create(objs, *args, **kwargs)
            for obj in created:
                if obj.pk is not None:
                    object_event_record(live, obj, CREATED)
        return created

    bulk_create.alters_data = True  # type: ignore[attr-defined]

    def bulk_update(self, objs: Iterable[models.Model], fields: Iterable[str], *args: Any, **kwargs: Any) -> int:
        live = self._live()
        objs, fields = list(objs), list(fields)
        tracked = _tracked_names(live, dict.fromkeys(fields)) if live is not None else set()
        if not tracked:
            return super().bulk_update(objs, fields, *args, **kwargs)
        with transaction.atomic(using=self.db, savepoint=False):
            rows = self.model._base_manager.using(self.db).filter(pk__in=[obj.pk for obj in objs])
            before = _tracked_values(rows, tracked)
            count = super().bulk_update(objs, fields, *args, **kwargs)
            for obj in objs:
                if obj.pk in before:
                    _record_change(live, obj, before[obj.pk], tracked)
        return count

    bulk_update.alters_data = True  # type: ignore[attr-defined]


def _tracked_names(live: LiveModel, values: dict[str, Any]) -> set[str]:
    """The tracked fields among ``values``' keys (field names or attnames, as ``update()`` takes both)."""
    names = set()
    for key in values:
        try:
            field = live.model._meta.get_field(key)
        except Exception:
            field = next((f for f in live.model._meta.concrete_fields if f.attname == key), None)
        if field is not None and field.name in live.tracked:
            names.add(field.name)
    return names


def _locked(queryset: models.QuerySet) -> models.QuerySet:
    """The rows of ``queryset``, locked for the update where the database can lock this query."""
    if queryset.query.distinct or queryset.query.combinator:
        pks = list(queryset.values_list("pk", flat=True))
        return queryset.model._base_manager.using(queryset.db).filter(pk__in=pks).select_for_update()
    try:
        return queryset.select_for_update()
    except NotSupportedError:
        return queryset


def _tracked_values(queryset: models.QuerySet, names: set[str]) -> dict[Any, tuple[Any, ...]]:
    attnames = [queryset.model._meta.get_field(name).attname for name in sorted(names)]
    return {row[0]: row[1:] for row in queryset.order_by().values_list("pk", *attnames)}


def _record_change(live: LiveModel, obj: models.Model, old: tuple[Any, ...], names: set[str]) -> None:
    from realtime.tracking import object_event_record

    ordered = sorted(names)
    new = tuple(getattr(obj, obj._meta.get_field(name).attname) for name in ordered)
    changed = {name for name, was, now in zip(ordered, old, new, strict=True) if was != now}
    if changed:
        affects = bool(changed & set(live.visibility))
        object_event_record(live, obj, CHANGED, recheck=EVERYONE if affects else None, visibility=affects)


def make_writes_live(model: type[models.Model]) -> None:
    """Give every manager of ``model`` a queryset class whose bulk writes are logged (once per manager)."""
    for manager in model._meta.managers:
        if isinstance(manager, models.Manager) and not getattr(manager, "_realtime_live", False):
            queryset_class = manager._queryset_class
            if not issubclass(queryset_class, LiveQuerySetMixin):
                queryset_class = type(f"Live{queryset_class.__name__}", (LiveQuerySetMixin, queryset_class), {})
            original = type(manager)
            manager.__class__ = type(
                f"Live{original.__name__}",
                (original,),
                {
                    "_queryset_class": queryset_class,
                    "_realtime_live": True,
                    "__module__": original.__module__,
                    "deconstruct": _deconstruct_as(original),
                },
            )


def _deconstruct_as(original: type[models.Manager]) -> Any:
    """Migrations see the manager the model declared, not the live subclass made at start-up."""

    def deconstruct(self: models.Manager) -> Any:
        live_class = self.__class__
        self.__class__ = original
        try:
            return original.deconstruct(self)
        finally:
            self.__class__ = live_class

    return deconstruct
