"""Permission classes and filter backends of the shapes host: rules on the request the realtime app must honour."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from rest_framework.authtoken.models import Token
from rest_framework.filters import BaseFilterBackend
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request


class TokenOnly(BasePermission):
    """Only clients that authenticated with an API token (``request.auth``), never a browser session."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, Token)


class OwnerWrites(BasePermission):
    """Anyone the queryset shows may read; only the owner may write."""

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        return request.method in SAFE_METHODS or obj.owner_id == request.user.pk


class HideOthersDrafts(BaseFilterBackend):
    """A draft is seen by its owner only: a filter backend, so it runs for list and detail alike."""

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        return queryset.filter(Q(draft=False) | Q(owner=request.user))
