"""REST CRUD on /api/foo: who may read and write, hashid lookups, validation and query counts."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token

from api.models import Foo
from realtime.ids import encode_id

pytestmark = pytest.mark.django_db


def detail(foo: Foo, slash: bool = True) -> str:
    return f"/api/foo/{encode_id(foo.pk)}" + ("/" if slash else "")


def test_owner_creates_reads_updates_and_deletes(client_for, alice, bob):
    """The owner can run the whole CRUD cycle and ids come back as hashids."""
    client = client_for(alice)
    created = client.post("/api/foo/", {"name": "n", "bar": "b", "members": ["bob"]}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    foo = Foo.objects.get()
    assert body["id"] == encode_id(foo.pk)
    assert body["owner"] == "alice"
    assert body["members"] == ["bob"]
    assert foo.owner == alice

    assert client.get(detail(foo)).json()["name"] == "n"
    patched = client.patch(detail(foo), {"bar": "changed"}, format="json")
    assert patched.status_code == 200
    assert patched.json()["bar"] == "changed"
    put = client.put(detail(foo), {"name": "renamed", "bar": "", "members": []}, format="json")
    assert put.status_code == 200
    assert put.json()["members"] == []
    assert client.delete(detail(foo)).status_code == 204
    assert not Foo.objects.exists()


@pytest.mark.parametrize("slash", [True, False])
def test_every_method_works_with_and_without_trailing_slash(client_for, alice, foo, slash):
    """Both /api/foo/<id>/ and /api/foo/<id> serve every method, without redirects."""
    client = client_for(alice)
    assert client.get(detail(foo, slash)).status_code == 200
    assert client.patch(detail(foo, slash), {"bar": "x"}, format="json").status_code == 200
    assert client.get("/api/foo/" if slash else "/api/foo").status_code == 200
    assert client.post("/api/foo/" if slash else "/api/foo", {"name": "y"}, format="json").status_code == 201
    assert client.delete(detail(foo, slash)).status_code == 204


def test_member_can_read_but_not_write(client_for, bob, foo):
    """A member sees the Foo but gets 403 on PUT, PATCH and DELETE."""
    client = client_for(bob)
    assert client.get(detail(foo)).status_code == 200
    assert client.patch(detail(foo), {"bar": "x"}, format="json").status_code == 403
    assert client.put(detail(foo), {"name": "x"}, format="json").status_code == 403
    assert client.delete(detail(foo)).status_code == 403
    foo.refresh_from_db()
    assert foo.bar == "one"


def test_stranger_gets_404_not_403(client_for, carol, foo):
    """A user who cannot see a Foo cannot learn that it exists."""
    client = client_for(carol)
    for method in ("get", "patch", "put", "delete"):
        assert getattr(client, method)(detail(foo), {}, format="json").status_code == 404


def test_staff_sees_and_changes_everything(client_for, staff, foo):
    """Staff can read and write a Foo they neither own nor are a member of."""
    client = client_for(staff)
    assert client.get(detail(foo)).status_code == 200
    assert client.patch(detail(foo), {"bar": "by staff"}, format="json").status_code == 200


def test_anonymous_is_refused_with_401(api_client, foo):
    """Anonymous requests are told to authenticate (401 with a Token challenge)."""
    for response in (api_client.get("/api/foo/"), api_client.get(detail(foo)), api_client.post("/api/foo/", {})):
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize(
    "bad_id",
    ["nothashid", "0", "abc", "x" * 100, "AAAAAAAAAAAA"],
)
def test_bad_hashids_are_404(client_for, alice, foo, bad_id):
    """Malformed, unknown or over-long ids are a 404, never a 500."""
    assert client_for(alice).get(f"/api/foo/{bad_id}/").status_code == 404


def test_multi_number_hashid_is_404(client_for, alice, foo):
    """A hashid that decodes to several numbers (including a real pk) is a 404."""
    from realtime.ids import get_hashids

    assert client_for(alice).get(f"/api/foo/{get_hashids().encode(foo.pk, foo.pk)}/").status_code == 404


def test_invalid_bodies_are_400_with_field_errors(client_for, alice):
    """Missing, too-long and unknown-member fields get field-level errors."""
    client = client_for(alice)
    missing = client.post("/api/foo/", {}, format="json")
    assert missing.status_code == 400
    assert "name" in missing.json()
    too_long = client.post("/api/foo/", {"name": "x" * 201}, format="json")
    assert too_long.status_code == 400
    assert "name" in too_long.json()
    unknown = client.post("/api/foo/", {"name": "x", "members": ["nobody"]}, format="json")
    assert unknown.status_code == 400
    assert "members" in unknown.json()
    not_json = client.generic("POST", "/api/foo/", "{not json", content_type="application/json")
    assert not_json.status_code == 400


def test_read_only_fields_are_ignored_on_write(client_for, alice, bob, foo):
    """Clients cannot set the owner or the id."""
    client = client_for(alice)
    response = client.patch(detail(foo), {"owner": "bob", "id": "zzz"}, format="json")
    assert response.status_code == 200
    foo.refresh_from_db()
    assert foo.owner == alice
    assert response.json()["id"] == encode_id(foo.pk)


def test_list_shows_only_visible_foos(client_for, alice, bob, carol, staff):
    """Each user lists exactly their own and shared Foos; staff lists all."""
    own = Foo.objects.create(owner=alice, name="alice's")
    shared = Foo.objects.create(owner=carol, name="carol shares with alice")
    shared.members.add(alice, bob)
    hidden = Foo.objects.create(owner=carol, name="carol only")

    def names(user):
        return {item["name"] for item in client_for(user).get("/api/foo/").json()["results"]}

    assert names(alice) == {own.name, shared.name}
    assert names(bob) == {shared.name}
    assert names(carol) == {shared.name, hidden.name}
    assert names(staff) == {own.name, shared.name, hidden.name}


def test_list_is_paginated_with_bounded_queries(client_for, alice, make_user, django_assert_max_num_queries):
    """Listing 30 Foos with members costs a fixed number of queries, not one per row."""
    members = [make_user(f"m{i}") for i in range(3)]
    for i in range(30):
        Foo.objects.create(owner=alice, name=f"foo {i}").members.add(*members)
    client = client_for(alice)
    with django_assert_max_num_queries(4):
        response = client.get("/api/foo/?limit=20")
    body = response.json()
    assert body["count"] == 30
    assert len(body["results"]) == 20
    assert body["next"]


def test_token_authentication(api_client, alice, foo):
    """`Authorization: Token <key>` authenticates REST requests."""
    token = Token.objects.create(user=alice)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api_client.get(detail(foo)).status_code == 200
    api_client.credentials(HTTP_AUTHORIZATION="Token wrong")
    assert api_client.get(detail(foo)).status_code == 401


def test_session_authentication_enforces_csrf(alice, foo):
    """A logged-in browser session can read, and writes need the CSRF token."""
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username="alice", password="pw-for-tests")
    assert client.get(detail(foo)).status_code == 200
    assert client.patch(detail(foo), {"bar": "x"}, format="json").status_code == 403
    csrf = client.get("/api-auth/login/").cookies["csrftoken"].value
    response = client.patch(detail(foo), {"bar": "x"}, format="json", HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 200


def test_me(client_for, alice):
    """/api/me returns the authenticated user with a hashid."""
    body = client_for(alice).get("/api/me").json()
    assert body == {"id": encode_id(alice.pk), "username": "alice", "is_staff": False}


def test_members_are_listed_in_a_stable_order(client_for, alice, make_user):
    """Members come back sorted, whatever order they were added in, so equal states serialize equally."""
    users = [make_user(name) for name in ("zed", "amy", "mo")]
    foo = Foo.objects.create(owner=alice, name="ordered")
    for user in users:
        foo.members.add(user)
    assert client_for(alice).get(detail(foo)).json()["members"] == ["amy", "mo", "zed"]
