"""A viewset read by slug (``lookup_field``) through a ``.distinct()`` queryset: writes work on PostgreSQL too.

REST serves a recipe at ``/hosts/recipes/<slug>/``; its stream is named by
its primary key as the API renders it (``recipe.<id>``, the ``id`` field):
that is the id clients subscribe with, whatever the URL uses. The queryset
joins ``cooks``, so an owner who also cooks appears twice without
``.distinct()``; PostgreSQL refuses ``SELECT DISTINCT ... FOR UPDATE``, so
the write lock is taken on the model's own table, by the slug.
"""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.db.models import Q
from rest_framework.test import APIRequestFactory

from tests.hosts.conftest import rest_client, subscribe
from tests.hosts.lifecycle import Shape, lifecycle
from tests.hosts.shapes.models import Recipe
from tests.hosts.shapes.views import RecipeViewSet

pytestmark = pytest.mark.django_db(transaction=True)

RECIPE = Shape(
    object_type="recipe",
    collection="/hosts/recipes/",
    create=lambda world: {"slug": "pancakes", "title": "Pancakes", "cooks": []},
    change={"title": "Pancakes, fluffy"},
    # The owner cooks too: the join then yields the recipe twice, and only .distinct() makes it one.
    m2m=lambda world: {"cooks": [world["owner"].pk, world["reader"].pk]},
    lookup_field="slug",
)


@pytest.fixture
def world(alice, bob, carol) -> dict:
    return {"owner": alice, "reader": bob, "stranger": carol}


async def test_slug_lookup_and_distinct_lifecycle(world, connect):
    """PATCH, PUT and DELETE by slug through the distinct queryset, each one event, as REST shows it."""
    lived = await lifecycle(RECIPE, connect, world)
    assert lived.detail == "/hosts/recipes/pancakes/"
    assert lived.stream == f"recipe.{lived.created['id']}"


def test_the_queryset_is_distinct_and_needs_to_be(world):
    """The viewset's queryset is ``.distinct()``: without it, a recipe its owner cooks with another matches twice."""
    owner = world["owner"]
    recipe = Recipe.objects.create(owner=owner, slug="soup", title="Soup")
    recipe.cooks.add(owner, world["reader"])
    view = RecipeViewSet(request=APIRequestFactory().get("/"), format_kwarg=None)
    view.request.user = owner
    assert view.get_queryset().query.distinct
    assert view.get_queryset().filter(slug="soup").count() == 1
    assert Recipe.objects.filter(Q(owner=owner) | Q(cooks=owner)).count() == 2  # the join alone: once per cook


async def test_subscribe_by_id_not_by_slug(world, connect):
    """The stream is named by the ``id`` the API renders; the slug of the URL is not an id (``not_found``)."""
    recipe = await sync_to_async(Recipe.objects.create)(owner=world["owner"], slug="soup", title="Soup")
    ws = await connect(world["owner"])
    assert (await subscribe(ws, "recipe", "soup"))[-1]["code"] == "not_found"
    assert (await subscribe(ws, "recipe", recipe.pk))[-1]["stream"] == f"recipe.{recipe.pk}"
    rest = await sync_to_async(rest_client)(world["owner"])
    body = (await sync_to_async(rest.get)("/hosts/recipes/soup/")).json()
    assert body["stream"]["name"] == f"recipe.{body['id']}"
