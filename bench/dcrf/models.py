"""``Widget``: the fields of ``api.Foo`` without tracking, logging or live registration.

The DCRF reference observes it, and scenario 5 saves it as the untracked baseline.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Widget(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    bar = models.CharField(max_length=200, blank=True, default="")
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name
