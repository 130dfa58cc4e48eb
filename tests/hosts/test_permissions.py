"""Permission classes and ``get_queryset`` that read ``request.auth``, a header and a query parameter, honoured as REST.

``DocViewSet`` serves a doc only to clients that authenticated with a token
(``TokenOnly`` reads ``request.auth``), only of the team named by the
``X-Team`` header, and archived ones only with ``?archived=1``. A socket is
checked with its own handshake's credential, headers and query string: it may
subscribe to exactly the docs its REST twin may GET, and receives the events
of exactly those.
"""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from tests.hosts.lifecycle import Shape, lifecycle
from tests.hosts.shapes.models import Doc, Label
from tests.hosts.twins import Target, Twin, assert_twins_agree

pytestmark = pytest.mark.django_db(transaction=True)

DOC = Shape(
    object_type="doc",
    collection="/hosts/docs/",
    create=lambda world: {"team": "red", "title": "minutes", "labels": []},
    change={"title": "minutes, approved"},
    m2m=lambda world: {"labels": [world["label"].pk]},
    headers={"X-Team": "red"},
)


@pytest.fixture
def world(alice, carol) -> dict:
    return {"owner": alice, "stranger": carol, "label": Label.objects.create(name="red")}


async def test_doc_lifecycle_with_the_team_header(world, connect):
    """With the header on both REST and the socket, the whole lifecycle reaches the subscriber."""
    await lifecycle(DOC, connect, world)


async def test_each_socket_sees_what_its_rest_twin_sees(alice, connect):
    """Per credential, header and query string: subscribe succeeds exactly where REST GET does; events follow suit."""
    targets = {
        name: Target("doc", doc, f"/hosts/docs/{doc.pk}/")
        for name, doc in [
            ("open", await sync_to_async(Doc.objects.create)(owner=alice, team="red", title="open")),
            ("archived", await sync_to_async(Doc.objects.create)(owner=alice, team="red", title="old", archived=True)),
        ]
    }
    red = {"X-Team": "red"}
    twins = {
        "token, team": Twin(alice, {"open"}, headers=red),
        "token, team, archived=1": Twin(alice, {"open", "archived"}, headers=red, query="archived=1"),
        "token, other team": Twin(alice, set(), headers={"X-Team": "blue"}),
        "token, no team": Twin(alice, set()),
        # request.auth is no token: TokenOnly refuses (403 over REST)
        "session, team": Twin(alice, set(), session=True, headers=red),
    }
    await assert_twins_agree(connect, twins, targets)
