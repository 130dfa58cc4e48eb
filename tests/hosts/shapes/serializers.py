"""REST representations of the shapes, which are also their event payloads (without the REST-only ``stream``)."""

from __future__ import annotations

from rest_framework import serializers

from realtime.fields import StreamPositionField
from tests.hosts.shapes.models import Card, Country, Doc, Label, Note, Recipe, Snippet


class LabelSerializer(serializers.ModelSerializer):
    class Meta:
        model = Label
        fields = ["id", "name"]


class NoteSerializer(serializers.ModelSerializer):
    """Plain integer ids: ``id`` is the primary key itself, as DRF renders it."""

    stream = StreamPositionField()

    class Meta:
        model = Note
        fields = ["id", "title", "draft", "readers", "stream"]


class CardSerializer(serializers.ModelSerializer):
    stream = StreamPositionField()

    class Meta:
        model = Card
        fields = ["id", "title", "parent", "labels", "stream"]


class CountrySerializer(serializers.ModelSerializer):
    stream = StreamPositionField()

    class Meta:
        model = Country
        fields = ["code", "title", "labels", "stream"]


class SnippetSerializer(serializers.HyperlinkedModelSerializer):
    """The DRF tutorial's default: the object and its labels as absolute URLs."""

    owner = serializers.ReadOnlyField(source="owner.username")
    stream = StreamPositionField()

    class Meta:
        model = Snippet
        fields = ["url", "id", "title", "owner", "labels", "stream"]


class RecipeSerializer(serializers.ModelSerializer):
    """``id`` (the primary key) names the stream; ``slug`` names the REST URL."""

    stream = StreamPositionField()

    class Meta:
        model = Recipe
        fields = ["id", "slug", "title", "cooks", "stream"]


class DocSerializer(serializers.ModelSerializer):
    stream = StreamPositionField()

    class Meta:
        model = Doc
        fields = ["id", "team", "archived", "title", "labels", "stream"]
