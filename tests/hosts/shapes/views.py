"""REST viewsets of the shapes host; each live one is what decides who may subscribe to its objects."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from rest_framework import viewsets
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.permissions import IsAuthenticated

from realtime.viewsets import LiveViewSetMixin
from tests.hosts.shapes.models import Card, Country, Doc, Label, Note, Recipe, Snippet
from tests.hosts.shapes.permissions import HideOthersDrafts, OwnerWrites, TokenOnly
from tests.hosts.shapes.serializers import (
    CardSerializer,
    CountrySerializer,
    DocSerializer,
    LabelSerializer,
    NoteSerializer,
    RecipeSerializer,
    SnippetSerializer,
)


class OwnedViewSet(LiveViewSetMixin, viewsets.ModelViewSet):
    """Objects of the request's user; creating one makes it theirs."""

    def get_queryset(self) -> QuerySet:
        return self.queryset.filter(owner=self.request.user)

    def perform_create(self, serializer) -> None:
        serializer.save(owner=self.request.user)


class LabelViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Label.objects.order_by("pk")
    serializer_class = LabelSerializer


class NoteViewSet(OwnedViewSet):
    """Notes you own or read; others' drafts are hidden by a filter backend, ``?search=`` filters by title."""

    queryset = Note.objects.order_by("pk")
    serializer_class = NoteSerializer
    filter_backends = [HideOthersDrafts, SearchFilter, OrderingFilter]
    search_fields = ["title"]
    permission_classes = [IsAuthenticated, OwnerWrites]

    def get_queryset(self) -> QuerySet[Note]:
        user = self.request.user
        read = Note.readers.through.objects.filter(user=user).values("note_id")
        return Note.objects.filter(Q(owner=user) | Q(pk__in=read)).order_by("pk")


class CardViewSet(OwnedViewSet):
    queryset = Card.objects.order_by("title")
    serializer_class = CardSerializer


class CountryViewSet(OwnedViewSet):
    queryset = Country.objects.order_by("code")
    serializer_class = CountrySerializer


class SnippetViewSet(OwnedViewSet):
    queryset = Snippet.objects.order_by("pk")
    serializer_class = SnippetSerializer


class RecipeViewSet(OwnedViewSet):
    """Recipes you own or cook, read by slug: the queryset joins ``cooks``, hence ``.distinct()``."""

    queryset = Recipe.objects.order_by("pk")
    serializer_class = RecipeSerializer
    lookup_field = "slug"
    permission_classes = [IsAuthenticated, OwnerWrites]

    def get_queryset(self) -> QuerySet[Recipe]:
        user = self.request.user
        return Recipe.objects.filter(Q(owner=user) | Q(cooks=user)).distinct().order_by("pk")


class DocViewSet(OwnedViewSet):
    """Your docs of the team named by the ``X-Team`` header, archived ones only with ``?archived=1``; tokens only."""

    queryset = Doc.objects.order_by("pk")
    serializer_class = DocSerializer
    permission_classes = [IsAuthenticated, TokenOnly]

    def get_queryset(self) -> QuerySet[Doc]:
        docs = Doc.objects.filter(owner=self.request.user, team=self.request.headers.get("X-Team", ""))
        if self.request.query_params.get("archived") != "1":
            docs = docs.filter(archived=False)
        return docs.order_by("pk")
