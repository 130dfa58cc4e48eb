"""The shapes made live: each declaration names its viewset; ``auth.User`` needs a type name and two exclusions."""

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


@live.register
class AccountLive(live.LiveModel):
    """``auth.User`` (the model comes from the serializer): ``user`` names inboxes, so the type is ``account``."""

    viewset_class = views.AccountViewSet
    object_type = "account"
    untracked_fields = ("password", "last_login")
