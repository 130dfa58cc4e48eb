"""The follower's own REST API of its copy: every signed-in user of this service sees every member."""

from __future__ import annotations

from rest_framework import serializers, viewsets

from realtime.viewsets import LiveViewSetMixin
from tests.hosts.follower.directory.models import Member


class MemberSerializer(serializers.ModelSerializer):
    class Meta:
        model = Member
        fields = ["id", "remote_id", "username", "first_name", "last_name", "email", "is_active"]
        read_only_fields = fields


class MemberViewSet(LiveViewSetMixin, viewsets.ReadOnlyModelViewSet):
    queryset = Member.objects.order_by("pk")
    serializer_class = MemberSerializer
