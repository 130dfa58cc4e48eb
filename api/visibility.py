"""Who may see and who may change a ``Foo``, and who may see an account: the rules REST and WebSocket share.

Owner, members and staff see a Foo; only its owner and staff change or delete
it. ``FooViewSet.get_queryset`` and its permission class are the single source
of truth; the realtime app asks the same view, never a copy of this rule.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet
from rest_framework.permissions import SAFE_METHODS, BasePermission

from api.models import Foo


def foos_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Foo]:
    """Return the Foos ``user`` may see (without duplicate rows)."""
    if not user.is_authenticated or not user.is_active:
        return Foo.objects.none()
    if user.is_staff:
        return Foo.objects.all()
    shared = Foo.members.through.objects.filter(user_id=user.pk).values("foo_id")
    return Foo.objects.filter(Q(owner_id=user.pk) | Q(pk__in=shared))


def accounts_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet:
    """Return the accounts ``user`` may see: their own; every one for staff and holders of ``auth.view_user``."""
    users = get_user_model().objects.all()
    if not user.is_authenticated or not user.is_active:
        return users.none()
    if user.is_staff or user.has_perm(f"{users.model._meta.app_label}.view_{users.model._meta.model_name}"):
        return users
    return users.filter(pk=user.pk)


class IsOwnerOrStaffOrReadOnly(BasePermission):
    """Reads are allowed on any visible Foo; writes only for its owner or staff."""

    def has_object_permission(self, request, view, obj: Foo) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return obj.owner_id == request.user.pk or request.user.is_staff
