"""REST endpoints of the demo domain: ``/api/foo`` CRUD and ``/api/me``."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from rest_framework import filters, generics, viewsets
from rest_framework.permissions import IsAuthenticated

from api.models import Foo
from api.serializers import FooSerializer, MeSerializer
from api.visibility import IsOwnerOrStaffOrReadOnly, foos_visible_to
from realtime.viewsets import LiveViewSetMixin


class FooViewSet(LiveViewSetMixin, viewsets.ModelViewSet):
    """Foos you own or that are shared with you; only the owner (or staff) may change one.

    ``?search=`` keeps those whose name or bar contains every word given (the demo's filtered live list).
    """

    serializer_class = FooSerializer
    permission_classes = [IsAuthenticated, IsOwnerOrStaffOrReadOnly]
    filter_backends = [filters.SearchFilter]
    search_fields = ["name", "bar"]
    lookup_value_converter = "hashid"

    def get_queryset(self) -> QuerySet[Foo]:
        return foos_visible_to(self.request.user).select_related("owner").prefetch_related("members")

    def perform_create(self, serializer: FooSerializer) -> None:
        serializer.save(owner=self.request.user)


class MeView(generics.RetrieveAPIView):
    """The authenticated user."""

    serializer_class = MeSerializer

    def get_object(self) -> AbstractBaseUser:
        return self.request.user
