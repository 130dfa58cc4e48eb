"""REST representations of ``Foo`` and of accounts (``auth.User``), also the payloads of their live events."""

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


class AccountSerializer(serializers.ModelSerializer):
    """``auth.User`` as the API shows it: the profile, never the password or the last login."""

    id = HashidField()
    groups = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    stream = StreamPositionField(help_text="Subscribe with since=seq and epoch to continue from this state.")

    class Meta:
        model = get_user_model()
        fields = ["id", "username", "first_name", "last_name", "email", "is_active", "groups", "stream"]
        read_only_fields = fields

    def to_representation(self, instance) -> dict:
        data = super().to_representation(instance)
        data["groups"] = sorted(data["groups"])  # a stable order, so equal states serialize equally
        return data
