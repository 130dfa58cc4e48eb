"""Tasks you own or share; yourself as a person."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from rest_framework import mixins, viewsets
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated

from realtime.viewsets import LiveViewSetMixin
from tests.hosts.custom_user.people.models import Person, Task
from tests.hosts.custom_user.people.serializers import PersonSerializer, TaskSerializer


class OwnerWrites(BasePermission):
    def has_object_permission(self, request, view, obj) -> bool:
        return request.method in SAFE_METHODS or obj.owner_id == request.user.pk


class TaskViewSet(LiveViewSetMixin, viewsets.ModelViewSet):
    serializer_class = TaskSerializer
    permission_classes = [IsAuthenticated, OwnerWrites]

    def get_queryset(self) -> QuerySet[Task]:
        user = self.request.user
        return Task.objects.filter(Q(owner=user) | Q(members=user)).distinct().order_by("pk")

    def perform_create(self, serializer: TaskSerializer) -> None:
        serializer.save(owner=self.request.user)


class PersonViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = PersonSerializer

    def get_queryset(self) -> QuerySet[Person]:
        return Person.objects.filter(pk=self.request.user.pk)
