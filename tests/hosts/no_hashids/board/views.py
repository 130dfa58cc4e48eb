"""Your posts and pins; pins are served by hashid (``lookup_value_converter = "hashid"``)."""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import serializers, viewsets

from realtime.fields import HashidField
from realtime.viewsets import LiveViewSetMixin
from tests.hosts.no_hashids.board.models import Pin, Post


class PostSerializer(serializers.ModelSerializer):
    class Meta:
        model = Post
        fields = ["id", "text"]


class PinSerializer(serializers.ModelSerializer):
    id = HashidField()

    class Meta:
        model = Pin
        fields = ["id", "text"]


class AuthoredViewSet(LiveViewSetMixin, viewsets.ModelViewSet):
    def get_queryset(self) -> QuerySet:
        return self.serializer_class.Meta.model.objects.filter(author=self.request.user).order_by("pk")

    def perform_create(self, serializer: serializers.ModelSerializer) -> None:
        serializer.save(author=self.request.user)


class PostViewSet(AuthoredViewSet):
    serializer_class = PostSerializer


class PinViewSet(AuthoredViewSet):
    serializer_class = PinSerializer
    lookup_value_converter = "hashid"
