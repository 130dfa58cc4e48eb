"""REST endpoints of the demo domain: ``/api/foo`` CRUD, ``/api/accounts`` (read-only) and ``/api/me``."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from rest_framework import generics, viewsets
from rest_framework.filters import BaseFilterBackend, OrderingFilter, SearchFilter
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request

from api.models import Foo
from api.serializers import AccountSerializer, FooSerializer, MeSerializer
from api.visibility import IsOwnerOrStaffOrReadOnly, accounts_visible_to, foos_visible_to
from realtime.viewsets import LiveViewSetMixin


class RoleFilter(BaseFilterBackend):
    """``?role=owner``: the Foos you own; ``?role=member``: those shared with you."""

    def filter_queryset(self, request: Request, queryset: QuerySet[Foo], view: Any) -> QuerySet[Foo]:
        role = request.query_params.get("role")
        if role == "owner":
            return queryset.filter(owner_id=request.user.pk)
        if role == "member":
            return queryset.filter(members=request.user.pk).distinct()
        return queryset

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": "role",
                "required": False,
                "in": "query",
                "description": "owner: the Foos you own; member: the Foos shared with you.",
                "schema": {"type": "string", "enum": ["owner", "member"]},
            }
        ]


class FooViewSet(LiveViewSetMixin, viewsets.ModelViewSet):
    """Foos you own or that are shared with you; only the owner (or staff) may change one.

    The list takes ``?search=`` (name and bar), ``?ordering=`` and ``?role=owner|member``.
    """

    serializer_class = FooSerializer
    permission_classes = [IsAuthenticated, IsOwnerOrStaffOrReadOnly]
    lookup_value_converter = "hashid"
    filter_backends = [RoleFilter, SearchFilter, OrderingFilter]
    search_fields = ["name", "bar"]
    ordering_fields = ["name", "created_at", "updated_at"]

    def get_queryset(self) -> QuerySet[Foo]:
        return foos_visible_to(self.request.user).select_related("owner").prefetch_related("members")

    def perform_create(self, serializer: FooSerializer) -> None:
        serializer.save(owner=self.request.user)


class AccountViewSet(LiveViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Accounts (``auth.User``): yourself; everyone for staff and for users with ``auth.view_user``.

    The permission is what a service account that mirrors the users needs
    (docs/mirror.md): it also lets it read the type's stream, ``account``.
    """

    serializer_class = AccountSerializer
    permission_classes = [IsAuthenticated]
    lookup_value_converter = "hashid"

    def get_queryset(self) -> QuerySet:
        return accounts_visible_to(self.request.user).prefetch_related("groups").order_by("pk")


class MeView(generics.RetrieveAPIView):
    """The authenticated user."""

    serializer_class = MeSerializer

    def get_object(self) -> AbstractBaseUser:
        return self.request.user
