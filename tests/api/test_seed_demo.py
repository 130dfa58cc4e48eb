"""The demo seeding command creates working logins and data, and can run twice."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command

from api.models import Foo

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent():
    """Running seed_demo twice leaves three users who can log in and three Foos."""
    out = StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=out)
    assert authenticate(username="alice", password="alice-demo") is not None
    assert authenticate(username="admin", password="admin-demo").is_staff
    assert Foo.objects.count() == 3
    assert Foo.objects.get(name="Shared with bob").members.get().username == "bob"
    assert "token" in out.getvalue()


def test_seed_demo_makes_a_service_account_that_may_follow_the_users():
    """The ``mirror`` account cannot log in, has a token and auth.view_user (so it may read the ``account`` stream)."""
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())
    service = get_user_model().objects.get(username="mirror")
    assert not service.has_usable_password()
    assert service.has_perm("auth.view_user")
    assert service.auth_token.key


def test_seed_demo_again_keeps_the_demo_users_sessions(client):
    """A second run (the next `make run`) leaves passwords alone, so a logged-in browser stays logged in."""
    call_command("seed_demo", stdout=StringIO())
    assert client.login(username="bob", password="bob-demo")
    assert client.get("/api/me").json()["username"] == "bob"
    call_command("seed_demo", stdout=StringIO())
    assert client.get("/api/me").status_code == 200, "the session survived the second seeding"


def test_seed_demo_restores_a_changed_demo_password():
    """A demo password someone changed is set back, so the printed credentials work."""
    call_command("seed_demo", stdout=StringIO())
    alice = get_user_model().objects.get(username="alice")
    alice.set_password("something-else")
    alice.save()
    call_command("seed_demo", stdout=StringIO())
    assert authenticate(username="alice", password="alice-demo") is not None
