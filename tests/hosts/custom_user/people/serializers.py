"""REST representations (and event payloads): users are referenced by their UUIDs."""

from __future__ import annotations

from rest_framework import serializers

from realtime.fields import StreamPositionField
from tests.hosts.custom_user.people.models import Person, Task


class TaskSerializer(serializers.ModelSerializer):
    stream = StreamPositionField()

    class Meta:
        model = Task
        fields = ["id", "title", "owner", "members", "stream"]
        read_only_fields = ["owner"]


class PersonSerializer(serializers.ModelSerializer):
    class Meta:
        model = Person
        fields = ["id", "username", "first_name"]
