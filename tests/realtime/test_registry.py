"""Live model declarations: defaults derived from the viewset, visibility through it, loud errors for bad ones."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, models
from django.test.utils import CaptureQueriesContext
from rest_framework import serializers, viewsets
from rest_framework.exceptions import NotAuthenticated, NotFound

from api.live import FooLive
from api.models import Foo
from api.serializers import FooSerializer
from api.views import FooViewSet
from realtime.ids import encode_id
from realtime.registry import LiveModel, Registry, _ordering_is_droppable, registry
from realtime.requests import socket_request

pytestmark = pytest.mark.django_db


def request_for(user):
    return socket_request(scope={"type": "websocket", "path": "/ws/notifications/", "headers": []}, user=user)


def test_foo_is_registered_with_everything_derived_from_its_viewset():
    """api/live.py names only the viewset: model, serializer, type, fields, ids and events follow from it."""
    live = registry.get("foo")
    assert isinstance(live, FooLive)
    assert registry.get_for_model(Foo) is live
    assert (live.model, live.serializer_class, live.object_type, live.ids) == (Foo, FooSerializer, "foo", "hashid")
    assert set(live.tracked) == {"name", "bar", "owner"}  # Foo.tracker
    assert (live.m2m, set(live.visibility)) == (("members",), {"owner", "members"})
    assert live.get_event("changed").name == "api:foo:changed"
    assert live.get_event("changed").action_type == "UPDATE_FOO"
    assert live.get_event("deleted").action_type == "DELETE_FOO"


def test_visibility_is_the_rest_detail_view(foo, alice, bob, carol, staff):
    """get_visible_object answers exactly like GET /api/foo/<id> for each kind of user."""
    live = registry.get("foo")
    for user in (alice, bob, staff):
        assert live.get_visible_object(request=request_for(user), pk=foo.pk) == foo
    with pytest.raises(NotFound):
        live.get_visible_object(request=request_for(carol), pk=foo.pk)
    with pytest.raises(NotFound):
        live.get_visible_object(request=request_for(alice), pk=10**9)
    with pytest.raises(NotAuthenticated):
        live.get_visible_object(request=request_for(AnonymousUser()), pk=foo.pk)


def test_many_objects_are_checked_in_one_query(foo, alice, bob, django_assert_num_queries):
    """get_visible checks any number of objects of one type with one query."""
    others = [Foo.objects.create(owner=alice, name=f"o{i}") for i in range(5)]
    live = registry.get("foo")
    with django_assert_num_queries(1):
        visible = live.get_visible(request=request_for(bob), pks=[foo.pk, *(o.pk for o in others)])
    assert list(visible) == [foo.pk]


def test_a_visibility_check_reads_no_stream_positions(foo, bob, api_client):
    """The check's one SELECT leaves out the seq/epoch subqueries that REST reads of the same view carry."""
    with CaptureQueriesContext(connection) as queries:
        assert foo.pk in registry.get("foo").get_visible(request=request_for(bob), pks=[foo.pk])
    assert len(queries) == 1
    assert "realtime_stream" not in queries[0]["sql"]
    api_client.force_authenticate(bob)
    with CaptureQueriesContext(connection) as queries:
        body = api_client.get(f"/api/foo/{encode_id(foo.pk)}").json()
    assert body["stream"]["seq"] >= 1
    assert any("realtime_stream" in query["sql"] and "api_foo" in query["sql"] for query in queries)


def test_a_visibility_check_leaves_out_an_ordering_by_the_models_own_columns(foo, bob, monkeypatch):
    """Foo's ``ordering = ["-id"]`` is not compiled into the check; an ordering through a relation still is."""
    live = registry.get("foo")
    with CaptureQueriesContext(connection) as queries:
        assert foo.pk in live.get_visible(request=request_for(bob), pks=[foo.pk])
    assert "ORDER BY" not in queries[0]["sql"]
    view_queryset = FooViewSet.get_queryset
    monkeypatch.setattr(FooViewSet, "get_queryset", lambda self: view_queryset(self).order_by("owner__username"))
    with CaptureQueriesContext(connection) as queries:
        assert foo.pk in live.get_visible(request=request_for(bob), pks=[foo.pk])
    assert "ORDER BY" in queries[0]["sql"]


@pytest.mark.parametrize(
    ("build", "droppable"),
    [
        (lambda: Foo.objects.all(), True),  # Meta.ordering: -id
        (lambda: Foo.objects.order_by("name", "-created_at", "pk", "?"), True),
        (lambda: Foo.objects.order_by("owner"), False),  # a relation: joins the owner's table for its ordering
        (lambda: Foo.objects.order_by("owner_id"), False),  # the relation's column: kept, to be safe
        (lambda: Foo.objects.order_by("owner__username"), False),
        (lambda: Foo.objects.alias(n=models.F("owner__username")).order_by("n"), False),
        (lambda: Foo.objects.order_by(models.F("name").desc()), False),  # an expression
        (lambda: Foo.objects.order_by("owner_id", "name").distinct("owner_id"), False),  # picks a row per owner
        (lambda: Foo.objects.extra(order_by=["name"]), False),
        (lambda: Foo.objects.all()[:5], False),
        (lambda: Foo.objects.filter(name="a").union(Foo.objects.filter(name="b")), False),
    ],
)
def test_only_an_ordering_that_cannot_change_the_objects_is_dropped(build, droppable):
    """_ordering_is_droppable: own columns yes; relations, aliases, expressions, DISTINCT ON, slices, unions no."""
    assert _ordering_is_droppable(build().query) is droppable


def test_visibility_follows_a_changed_view(foo, bob, monkeypatch):
    """Changing the view's queryset changes what may be subscribed: there is no second copy of the rule."""
    monkeypatch.setattr(FooViewSet, "get_queryset", lambda self: Foo.objects.exclude(pk=foo.pk))
    with pytest.raises(NotFound):
        registry.get("foo").get_visible_object(request=request_for(bob), pk=foo.pk)


def declare(**attrs) -> type[LiveModel]:
    base = {"viewset_class": FooViewSet, "object_type": "other"}
    return type("Declared", (LiveModel,), {**base, **attrs})


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ({"viewset_class": None}, "must set `viewset_class`"),
        ({"object_type": "Foo Bar"}, "lower-case identifier"),
        ({"object_type": "inbox"}, "reserved"),
        ({"object_type": "user"}, "reserved"),
        ({"m2m_fields": ("owner",)}, "no many-to-many field 'owner'"),
        ({"tracked_fields": ("nope",)}, "has no field 'nope'"),
        ({"tracked_fields": ("members",)}, "not a concrete field"),
        ({"visibility_fields": ("created_at",)}, "could not revoke"),
        ({"id_style": "uuid"}, "'hashid' or 'pk'"),
    ],
)
def test_bad_declarations_fail_loudly(attrs, message):
    """Each declaration mistake raises ImproperlyConfigured saying what to fix."""
    with pytest.raises(ImproperlyConfigured, match=message):
        Registry().register(declare(**attrs))


def test_hashids_need_an_integer_key():
    """A hashid declaration on a model whose key is not an integer says to use plain ids."""

    from django.contrib.sessions.models import Session

    class SessionSerializer(serializers.ModelSerializer):
        class Meta:
            model = Session
            fields = ["session_key", "expire_date"]

    class Sessions(viewsets.ReadOnlyModelViewSet):
        queryset = Session.objects.all()
        serializer_class = SessionSerializer
        lookup_value_converter = "hashid"

    with pytest.raises(ImproperlyConfigured, match="id_style = 'pk'"):
        Registry().register(type("SessionLive", (LiveModel,), {"viewset_class": Sessions, "object_type": "sess"}))


def test_an_object_type_or_a_model_cannot_be_registered_twice():
    """Two declarations for one object type, or for one model, are a start-up error."""
    fresh = Registry()
    fresh.register(declare(object_type="twice"))
    with pytest.raises(ImproperlyConfigured, match="registered twice"):
        fresh.register(declare(object_type="twice", type_prefix="OTHER"))
    with pytest.raises(ImproperlyConfigured, match=r"api\.Foo is registered twice"):
        fresh.register(declare(object_type="thrice"))
