"""Integer keys with plain ids, UUID keys and string keys: streams named by the id REST shows, full lifecycles."""

from __future__ import annotations

import pytest

from realtime.registry import registry
from tests.hosts.conftest import rest_client, subscribe
from tests.hosts.lifecycle import Shape, lifecycle
from tests.hosts.shapes.models import Card, Label

pytestmark = pytest.mark.django_db(transaction=True)

NOTE = Shape(
    object_type="note",
    collection="/hosts/notes/",
    create=lambda world: {"title": "plans", "readers": []},
    change={"title": "plans, revised"},
    m2m=lambda world: {"readers": [world["reader"].pk]},
)
CARD = Shape(
    object_type="card",
    collection="/hosts/cards/",
    create=lambda world: {"title": "card", "parent": str(world["parent"].pk), "labels": []},
    change={"title": "card, revised"},
    m2m=lambda world: {"labels": [world["label"].pk]},
)
COUNTRY = Shape(
    object_type="country",
    collection="/hosts/countries/",
    # Not ASCII: the channel-layer group of its stream is a digest of the name.
    create=lambda world: {"code": "zürich_1", "title": "Zürich", "labels": []},
    change={"title": "Zurich"},
    m2m=lambda world: {"labels": [world["label"].pk]},
    id_field="code",
    lookup_field="code",
)


@pytest.fixture
def world(alice, bob, carol) -> dict:
    return {
        "owner": alice,
        "reader": bob,
        "stranger": carol,
        "label": Label.objects.create(name="red"),
        "parent": Card.objects.create(owner=alice, title="parent"),
    }


@pytest.mark.parametrize("shape", [NOTE, CARD, COUNTRY], ids=lambda shape: shape.object_type)
async def test_lifecycle(shape, world, connect):
    """Create, PATCH, m2m, PUT and DELETE reach the subscriber as REST shows them; the stranger sees nothing."""
    lived = await lifecycle(shape, connect, world)
    assert lived.stream == f"{shape.object_type}.{lived.created[shape.id_field]}"


def test_ids_are_the_primary_key_as_rest_shows_it(world):
    """No hashids unless the viewset speaks them: ``note.42``, ``card.<uuid>``, ``country.<code>``."""
    card = world["parent"]
    assert registry.get("note").ids == registry.get("card").ids == registry.get("country").ids == "pk"
    assert registry.get("note").get_stream(42).name == "note.42"
    assert registry.get("card").get_stream(card.pk).name == f"card.{card.pk}"
    assert registry.parse_stream(f"card.{card.pk}") == registry.get("card").get_stream(card.pk)
    assert registry.parse_stream("country.zürich_1").object_id == "zürich_1"


@pytest.mark.parametrize(
    ("object_type", "public_id"),
    [("note", "jR3kq9Wz"), ("note", "1.5"), ("card", "not-a-uuid"), ("card", "00000000-0000-0000-0000-000000000000")],
)
async def test_a_malformed_or_unknown_id_is_not_found(world, connect, object_type, public_id):
    """An id of the wrong form for the key (a hashid for an integer key, a bad UUID) is ``not_found``, never a 500."""
    ws = await connect(world["owner"])
    frames = await subscribe(ws, object_type, public_id)
    assert [(f["type"], f.get("code")) for f in frames] == [("error", "not_found")]


async def test_subscribing_by_uuid_is_case_and_form_insensitive_only_as_rest_is(world, connect):
    """A UUID's canonical text names the stream; REST serves the same id."""
    card = world["parent"]
    ws = await connect(world["owner"])
    frames = await subscribe(ws, "card", str(card.pk))
    assert frames[-1]["stream"] == f"card.{card.pk}"


WRITES = [
    (collection, method)
    for collection in ("notes", "cards", "countries", "snippets", "recipes", "accounts")
    for method in ("patch", "put", "delete")
    if (collection, method) != ("accounts", "delete")  # the accounts viewset has no destroy
]


@pytest.mark.django_db
@pytest.mark.parametrize(("collection", "method"), WRITES)
def test_a_write_to_a_malformed_id_is_a_404(world, collection, method):
    """A PATCH/PUT/DELETE whose id cannot be a key of the model (``null,null``) is a 404, as a GET, never a 500."""
    response = getattr(rest_client(world["owner"]), method)(f"/hosts/{collection}/null,null/", {}, format="json")
    assert response.status_code == 404, response.content[:300]
