"""``LiveViewSetMixin``: REST responses that tell the client where to subscribe from.

List and detail reads annotate each object with its stream's ``seq`` and
``epoch`` in the same SELECT (one snapshot, so object and position agree).
Creates, updates and deletes run in one transaction, and an update or
delete locks the object's row when it reads it (``SELECT ... FOR UPDATE``):
DRF saves the whole row it read, so without the lock a concurrent change
committed in between would be overwritten, and when the overwrite changes no
tracked field (relative to the stale read) the log would never record it.
Each event the write appends sets the instance's position
(``realtime.tracking``), so the response carries the seq of the last event
the write appended, or, when it changed nothing tracked, the position read
with the object.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import CharField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Cast
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response


class LiveViewSetMixin:
    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        # filter_queryset (not get_queryset, which apps override) runs for list and detail alike.
        from realtime.models import Stream
        from realtime.registry import registry

        queryset = super().filter_queryset(queryset)
        if self.request.method not in SAFE_METHODS and self.detail:
            queryset = queryset.select_for_update(of=("self",))
        live = registry.get_for_model(queryset.model)
        key = Cast(OuterRef("pk"), output_field=CharField())
        streams = Stream.objects.filter(object_type=live.object_type, object_id=key)
        return queryset.annotate(
            realtime_seq=Subquery(streams.values("seq")[:1]),
            realtime_epoch=Subquery(streams.values("epoch")[:1]),
        )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        with transaction.atomic():
            return super().create(request, *args, **kwargs)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        with transaction.atomic():
            return super().update(request, *args, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        with transaction.atomic():
            return super().destroy(request, *args, **kwargs)
