"""The demo seeding command creates working logins and data, and can run twice."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import authenticate
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
