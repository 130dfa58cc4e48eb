"""Live model declarations: visibility through the REST view, and loud start-up errors for bad ones."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from django.core.exceptions import ImproperlyConfigured
from rest_framework.exceptions import NotAuthenticated, NotFound

from api.live import FooLive
from api.models import Foo
from api.serializers import FooSerializer
from api.views import FooViewSet
from realtime.registry import LiveModel, Registry, registry

pytestmark = pytest.mark.django_db


def test_foo_is_registered_with_derived_events():
    """api registers foo; its events and Redux types follow the naming rules."""
    live = registry.get("foo")
    assert isinstance(live, FooLive)
    assert registry.get_for_model(Foo) is live
    assert live.get_event("changed").name == "api:foo:changed"
    assert live.get_event("changed").action_type == "UPDATE_FOO"
    assert live.get_event("deleted").action_type == "DELETE_FOO"
    assert set(live.get_tracked_fields()) == {"name", "bar", "owner"}


def test_visibility_is_the_rest_detail_view(foo, alice, bob, carol, staff):
    """get_visible_object answers exactly like GET /api/foo/<id> for each kind of user."""
    live = registry.get("foo")
    for user in (alice, bob, staff):
        assert live.get_visible_object(user=user, pk=foo.pk) == foo
    with pytest.raises(NotFound):
        live.get_visible_object(user=carol, pk=foo.pk)
    with pytest.raises(NotFound):
        live.get_visible_object(user=alice, pk=10**9)
    with pytest.raises(NotAuthenticated):
        live.get_visible_object(user=AnonymousUser(), pk=foo.pk)


def test_visibility_follows_a_changed_view(foo, bob, monkeypatch):
    """Changing the view's queryset changes what may be subscribed: there is no second copy of the rule."""
    monkeypatch.setattr(FooViewSet, "get_queryset", lambda self: Foo.objects.exclude(pk=foo.pk))
    with pytest.raises(NotFound):
        registry.get("foo").get_visible_object(user=bob, pk=foo.pk)


def declare(**attrs) -> type[LiveModel]:
    base = {"model": Foo, "object_type": "other", "serializer_class": FooSerializer, "viewset_class": FooViewSet}
    return type("Declared", (LiveModel,), {**base, **attrs})


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ({"model": Group}, "TrackedModel"),
        ({"tracker_attr": "missing"}, "FieldTracker"),
        ({"object_type": "Foo Bar"}, "lower-case identifier"),
        ({"object_type": "inbox"}, "reserved"),
        ({"m2m_fields": ("owner",)}, "no many-to-many field 'owner'"),
        ({"visibility_fields": ("created_at",)}, "could not revoke"),
    ],
)
def test_bad_declarations_fail_loudly(attrs, message):
    """Each declaration mistake raises ImproperlyConfigured saying what to fix."""
    with pytest.raises(ImproperlyConfigured, match=message):
        Registry().register(declare(**attrs))


def test_missing_attribute_fails_loudly():
    """A declaration without a model is refused at registration."""
    with pytest.raises(ImproperlyConfigured, match="must set `model`"):
        Registry().register(type("Empty", (LiveModel,), {}))


def test_an_object_type_cannot_be_registered_twice():
    """Two declarations for one object type are a start-up error."""
    fresh = Registry()
    fresh.register(declare(object_type="twice"))
    with pytest.raises(ImproperlyConfigured, match="registered twice"):
        fresh.register(declare(object_type="twice", type_prefix="OTHER"))
