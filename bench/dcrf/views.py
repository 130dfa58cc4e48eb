"""``/api/widget/<pk>/``: plain DRF CRUD; its saves are what DCRF observes and pushes."""

from __future__ import annotations

from rest_framework import viewsets

from bench.dcrf.models import Widget
from bench.dcrf.serializers import WidgetSerializer


class WidgetViewSet(viewsets.ModelViewSet):
    serializer_class = WidgetSerializer
    queryset = Widget.objects.select_related("owner").prefetch_related("members")
