"""The shapes made live: each declaration names its viewset (``auth.User`` is the demo's, ``api/live.py``)."""

from realtime import live
from tests.hosts.shapes import views


@live.register
class NoteLive(live.LiveModel):
    viewset_class = views.NoteViewSet


@live.register
class CardLive(live.LiveModel):
    viewset_class = views.CardViewSet


@live.register
class CountryLive(live.LiveModel):
    viewset_class = views.CountryViewSet


@live.register
class SnippetLive(live.LiveModel):
    viewset_class = views.SnippetViewSet


@live.register
class RecipeLive(live.LiveModel):
    viewset_class = views.RecipeViewSet


@live.register
class DocLive(live.LiveModel):
    viewset_class = views.DocViewSet
