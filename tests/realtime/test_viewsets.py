"""``LiveViewSetMixin``: the row lock of a write is taken inside its transaction, and only there."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from realtime.ids import encode_id

# Outside pytest-django's per-test transaction: a real request runs in autocommit, where FOR UPDATE is refused.
pytestmark = pytest.mark.django_db(transaction=True)


def client_as(user) -> APIClient:
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(user)
    return client


@pytest.mark.parametrize("slash", ["/", ""])
def test_options_on_a_detail_route_describes_put(alice, foo, slash):
    """OPTIONS reads the object for its PUT description outside any transaction: 200, not a lock error (a 500)."""
    response = client_as(alice).options(f"/api/foo/{encode_id(foo.pk)}{slash}")
    assert response.status_code == 200, response.content[:300]
    assert "name" in response.json()["actions"]["PUT"]


def test_options_for_a_reader_omits_put(bob, foo):
    """A member who may not write gets the description without PUT (the object permission is still checked)."""
    response = client_as(bob).options(f"/api/foo/{encode_id(foo.pk)}/")
    assert response.status_code == 200
    assert "actions" not in response.json()


@pytest.mark.postgres
def test_writes_lock_the_row_and_reads_do_not(alice, foo):
    """PATCH and DELETE read the object with FOR UPDATE; GET and OPTIONS never lock."""
    client, url = client_as(alice), f"/api/foo/{encode_id(foo.pk)}/"

    def locking_selects(method: str, **kwargs) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert getattr(client, method)(url, **kwargs).status_code < 300
        return sum("FOR UPDATE" in query["sql"] for query in queries)

    assert locking_selects("get") == 0
    assert locking_selects("options") == 0
    assert locking_selects("patch", data={"bar": "x"}, format="json") == 1
    assert locking_selects("delete") == 1
