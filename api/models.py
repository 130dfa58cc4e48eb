"""The demo model: a ``Foo`` owned by one user and shared with members."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from model_utils import FieldTracker

from realtime.models import TrackedModel


class Foo(TrackedModel):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="owned_foos")
    name = models.CharField(max_length=200)
    bar = models.CharField(max_length=200, blank=True, default="")
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="shared_foos", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    #: A save that changes none of these publishes nothing.
    tracker = FieldTracker(fields=["name", "bar", "owner"])

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.name
