"""A ``HyperlinkedModelSerializer``: payload URLs are absolute, from ``REALTIME["BASE_URL"]``, and equal REST's."""

from __future__ import annotations

import pytest

from tests.hosts.lifecycle import Shape, lifecycle
from tests.hosts.shapes.models import Label

pytestmark = pytest.mark.django_db(transaction=True)

BASE = "http://localhost"  # REALTIME["BASE_URL"] of tests/settings.py, and the Host of every REST call

SNIPPET = Shape(
    object_type="snippet",
    collection="/hosts/snippets/",
    create=lambda world: {"title": "hello", "labels": []},
    change={"title": "hello, world"},
    m2m=lambda world: {"labels": [f"{BASE}/hosts/labels/{world['label'].pk}/"]},
)


@pytest.fixture
def world(alice, carol) -> dict:
    return {"owner": alice, "stranger": carol, "label": Label.objects.create(name="red")}


async def test_hyperlinked_lifecycle(world, connect):
    """Every payload, the delete payload too, names the object by the absolute URL REST gives it."""
    lived = await lifecycle(SNIPPET, connect, world)
    url = f"{BASE}/hosts/snippets/{lived.created['id']}/"
    assert lived.created["url"] == url
    assert [event["payload"]["url"] for event in lived.events] == [url] * len(lived.events)
    assert lived.events[2]["payload"]["labels"] == [f"{BASE}/hosts/labels/{world['label'].pk}/"]
    assert lived.events[-1]["payload"] == {"url": url, "id": lived.created["id"]}
