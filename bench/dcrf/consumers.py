"""The DCRF consumer, as DCRF's documentation writes it: ``subscribe_instance``, then ``update`` frames."""

from __future__ import annotations

from djangochannelsrestframework.generics import GenericAsyncAPIConsumer
from djangochannelsrestframework.observer.generics import ObserverModelInstanceMixin
from djangochannelsrestframework.permissions import IsAuthenticated

from bench.dcrf.models import Widget
from bench.dcrf.serializers import WidgetSerializer


class WidgetConsumer(ObserverModelInstanceMixin, GenericAsyncAPIConsumer):
    queryset = Widget.objects.select_related("owner").prefetch_related("members")
    serializer_class = WidgetSerializer
    permission_classes = (IsAuthenticated,)
