"""Your orders."""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import serializers, viewsets

from realtime.viewsets import LiveViewSetMixin
from tests.hosts.no_authtoken.shop.models import Order


class OrderSerializer(serializers.ModelSerializer):
    class Meta:
        model = Order
        fields = ["id", "item"]


class OrderViewSet(LiveViewSetMixin, viewsets.ModelViewSet):
    serializer_class = OrderSerializer

    def get_queryset(self) -> QuerySet[Order]:
        return Order.objects.filter(customer=self.request.user).order_by("pk")
