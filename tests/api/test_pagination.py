"""List pages: ``?limit=`` is capped at API_MAX_PAGE_SIZE and bad limits or offsets never reach the database."""

from __future__ import annotations

import pytest

from api.models import Foo

pytestmark = pytest.mark.django_db


@pytest.fixture
def foos(alice) -> list[Foo]:
    return [Foo.objects.create(owner=alice, name=f"foo-{i}") for i in range(3)]


@pytest.mark.parametrize("limit", [str(2**63), str(10**40), "3"])
def test_huge_limit_is_capped(client_for, alice, foos, settings, limit):
    """A limit beyond API_MAX_PAGE_SIZE (even past 64 bits) serves a page of that size, with a next link."""
    settings.API_MAX_PAGE_SIZE = 2
    response = client_for(alice).get("/api/foo/", {"limit": limit})
    assert response.status_code == 200, response.content[:300]
    body = response.json()
    assert (body["count"], len(body["results"])) == (3, 2)
    assert "limit=2" in body["next"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"limit": "-1"}, 3),
        ({"limit": "abc"}, 3),
        ({"limit": "0"}, 3),
        ({"limit": "\x00"}, 3),
        ({"offset": "-5"}, 3),
        ({"offset": "x"}, 3),
        ({"offset": str(2**63)}, 0),
        ({"offset": "1", "limit": str(2**64)}, 2),
    ],
)
def test_bad_limits_and_offsets_fall_back_like_drf(client_for, alice, foos, query, expected):
    """A limit or offset that is no non-negative integer means the default; an offset past the end, an empty page."""
    response = client_for(alice).get("/api/foo/", query)
    assert response.status_code == 200, response.content[:300]
    assert len(response.json()["results"]) == expected
