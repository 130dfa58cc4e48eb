"""REST representation of ``Foo`` (also the payload of its live events)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework import serializers

from api.models import Foo
from realtime.fields import HashidField, StreamPositionField


class FooSerializer(serializers.ModelSerializer):
    id = HashidField()
    owner = serializers.CharField(source="owner.username", read_only=True)
    members = serializers.SlugRelatedField(
        slug_field="username",
        many=True,
        required=False,
        queryset=get_user_model().objects.filter(is_active=True),
        help_text="Usernames of the users this Foo is shared with.",
    )
    stream = StreamPositionField(help_text="Subscribe with since=seq and epoch to continue from this state.")

    class Meta:
        model = Foo
        fields = ["id", "name", "bar", "owner", "members", "created_at", "updated_at", "stream"]
        read_only_fields = ["created_at", "updated_at"]

    def to_representation(self, instance: Foo) -> dict:
        data = super().to_representation(instance)
        data["members"] = sorted(data["members"])  # a stable order, so equal states serialize equally
        return data


class MeSerializer(serializers.ModelSerializer):
    id = HashidField()

    class Meta:
        model = get_user_model()
        fields = ["id", "username", "is_staff"]
        read_only_fields = fields
