"""REST representation of ``Widget``, the same shape as ``FooSerializer`` (without the stream position)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework import serializers

from bench.dcrf.models import Widget


class WidgetSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    members = serializers.SlugRelatedField(
        slug_field="username", many=True, required=False, queryset=get_user_model().objects.all()
    )

    class Meta:
        model = Widget
        fields = ["id", "name", "bar", "owner", "members", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]
