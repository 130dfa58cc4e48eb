"""``Post`` and ``Pin``: the same shape, one spoken of by plain ids, the other by hashids."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Post(models.Model):
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="posts")
    text = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.text


class Pin(models.Model):
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pins")
    text = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.text
