"""Models of the shapes test host, one per shape; none inherits anything from ``realtime``.

* ``Note``: integer key, plain ids (``note.42``), a many-to-many of readers (users);
* ``Card``: UUID key (``card.0b9e…``); ``Country``: string key (``country.fr_paris-1``);
* ``Snippet``: rendered by a ``HyperlinkedModelSerializer``;
* ``Recipe``: read by slug (``lookup_field``) through a ``.distinct()`` queryset;
* ``Doc``: visible by rules on ``request.auth``, a header and a query parameter.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

USER = settings.AUTH_USER_MODEL


class Label(models.Model):
    name = models.CharField(max_length=50, unique=True)

    def __str__(self) -> str:
        return self.name


class Note(models.Model):
    owner = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="shape_notes")
    title = models.CharField(max_length=100)
    draft = models.BooleanField(default=False)
    readers = models.ManyToManyField(USER, blank=True, related_name="shape_notes_read")

    def __str__(self) -> str:
        return self.title


class Card(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="shape_cards")
    title = models.CharField(max_length=100)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    labels = models.ManyToManyField(Label, blank=True, related_name="cards")

    def __str__(self) -> str:
        return self.title


class Country(models.Model):
    code = models.CharField(primary_key=True, max_length=20)
    owner = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="shape_countries")
    title = models.CharField(max_length=100)
    labels = models.ManyToManyField(Label, blank=True, related_name="countries")

    def __str__(self) -> str:
        return self.code


class Snippet(models.Model):
    owner = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="shape_snippets")
    title = models.CharField(max_length=100)
    labels = models.ManyToManyField(Label, blank=True, related_name="snippets")

    def __str__(self) -> str:
        return self.title


class Recipe(models.Model):
    slug = models.SlugField(unique=True)
    owner = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="shape_recipes")
    title = models.CharField(max_length=100)
    cooks = models.ManyToManyField(USER, blank=True, related_name="shape_recipes_cooked")

    def __str__(self) -> str:
        return self.slug


class Doc(models.Model):
    owner = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="shape_docs")
    team = models.CharField(max_length=20)
    archived = models.BooleanField(default=False)
    title = models.CharField(max_length=100)
    labels = models.ManyToManyField(Label, blank=True, related_name="docs")

    def __str__(self) -> str:
        return self.title
