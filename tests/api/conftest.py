"""Fixtures for the demo domain: a Foo owned by alice and shared with bob."""

from __future__ import annotations

import pytest

from api.models import Foo


@pytest.fixture
def foo(alice, bob) -> Foo:
    obj = Foo.objects.create(owner=alice, name="first", bar="one")
    obj.members.add(bob)
    return obj
