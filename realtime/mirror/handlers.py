"""What a follower does with the master's events: ``MirrorHandler``, and ``ModelMirrorHandler`` for a local model.

A handler's ``apply`` and ``resync`` run inside the transaction that also
moves the follower's position (``realtime.mirror.position``): write to the
follower's default database and do not commit or swallow errors. Writing
through a model that is live on the follower (it has a ``LiveModel``) is
tracked like any other save, so the follower's own browsers see the change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from django.core.exceptions import ImproperlyConfigured
from django.db import models

from realtime import protocol


class MirrorHandler:
    """Subclass and implement ``apply`` (one event frame) and ``resync`` (the master's whole list)."""

    #: The master's paged REST list of the followed type (e.g. ``/api/accounts/``), read for a full resync.
    list_path: ClassVar[str | None] = None

    def get_list_path(self) -> str:
        if not self.list_path:
            raise ImproperlyConfigured(f"{type(self).__name__} must set `list_path`: the master's REST list to resync.")
        return self.list_path

    def apply(self, event: dict[str, Any]) -> None:
        raise NotImplementedError

    def resync(self, objects: list[dict[str, Any]], *, epoch: str, seq: int) -> None:
        raise NotImplementedError


class ModelMirrorHandler(MirrorHandler):
    """Keeps a local model equal to the master's objects: ``CREATE_``/``UPDATE_`` upsert, ``DELETE_`` deletes.

    ``fields`` maps local field names to payload keys (a sequence: the same
    names); ``lookup_field`` is the local field that holds the master's id,
    ``remote_lookup`` the payload key of that id. Only changed fields are
    saved, and a save that changes nothing is skipped.
    """

    model: ClassVar[type[models.Model] | None] = None
    fields: ClassVar[Mapping[str, str] | Sequence[str]] = ()
    lookup_field: ClassVar[str] = "remote_id"
    remote_lookup: ClassVar[str] = "id"

    def get_model(self) -> type[models.Model]:
        if self.model is None:
            raise ImproperlyConfigured(f"{type(self).__name__} must set `model`: the local model it keeps.")
        return self.model

    def get_fields(self) -> dict[str, str]:
        """Local field name -> payload key."""
        if isinstance(self.fields, Mapping):
            return dict(self.fields)
        return {name: name for name in self.fields}

    def get_lookup_field(self) -> str:
        return self.lookup_field

    def get_remote_id(self, payload: dict[str, Any]) -> str:
        return str(payload[self.remote_lookup])

    def get_values(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The local field values a payload carries (keys it lacks are left alone)."""
        return {local: payload[remote] for local, remote in self.get_fields().items() if remote in payload}

    def get_queryset(self) -> models.QuerySet:
        return self.get_model()._default_manager.all()

    def apply(self, event: dict[str, Any]) -> None:
        verb = str(event["type"]).split("_", 1)[0]
        if verb == protocol.DELETE:
            self.delete(self.get_remote_id(event["payload"]))
        elif verb in (protocol.CREATE, protocol.UPDATE):
            self.upsert(event["payload"])

    def upsert(self, payload: dict[str, Any]) -> models.Model:
        lookup = {self.get_lookup_field(): self.get_remote_id(payload)}
        values = self.get_values(payload)
        instance = self.get_queryset().filter(**lookup).first()
        if instance is None:
            instance = self.get_model()(**lookup, **values)
            instance.save()
            return instance
        changed = [name for name, value in values.items() if getattr(instance, name) != value]
        if changed:
            for name in changed:
                setattr(instance, name, values[name])
            instance.save(update_fields=changed)
        return instance

    def delete(self, remote_id: str) -> None:
        # One by one, so a live local model logs (and its browsers see) each deletion.
        for instance in self.get_queryset().filter(**{self.get_lookup_field(): remote_id}):
            instance.delete()

    def resync(self, objects: list[dict[str, Any]], *, epoch: str, seq: int) -> None:
        """Upsert every object of the master's list; delete the local ones it no longer has."""
        present: set[str] = set()
        for payload in objects:
            self.upsert(payload)
            present.add(self.get_remote_id(payload))
        self.delete_missing(present)

    def delete_missing(self, present: Iterable[str]) -> None:
        keep = set(present)
        for instance in self.get_queryset():
            if str(getattr(instance, self.get_lookup_field())) not in keep:
                instance.delete()
