"""Fixtures of the scaling scenarios (issues 13 and 14): pools of Foos, and list users with different subsets.

Run in the harness process (or a test) against the bench database, after
``harness.seed`` made the ``bench`` user.
"""

from __future__ import annotations

from typing import Any


def seed_foos(*, count: int, prefix: str) -> list[str]:
    """``count`` Foos owned by the ``bench`` user; their hashids."""
    from django.contrib.auth import get_user_model

    from api.models import Foo
    from realtime.ids import encode_id

    owner = get_user_model().objects.get(username="bench")
    return [encode_id(Foo.objects.create(owner=owner, name=f"{prefix} {n}", bar="").pk) for n in range(count)]


def seed_listers(*, users: int) -> dict[str, Any]:
    """``users`` users, each a member of one shared Foo and of a different pair of other Foos; tokens and ids.

    User ``i`` sees the shared Foo and ``only[i]``, ``only[i + 1]``: every
    user's list differs from every other's, and all of them hold the shared one.
    """
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from api.models import Foo
    from realtime.ids import encode_id

    model = get_user_model()
    owner = model.objects.get(username="bench")
    listers = [model.objects.create_user(f"lister{n}", password="bench-pw") for n in range(users)]
    shared = Foo.objects.create(owner=owner, name="shared with every lister", bar="")
    shared.members.add(*listers)
    only = [Foo.objects.create(owner=owner, name=f"lister subset {n}", bar="") for n in range(users)]
    for n, user in enumerate(listers):
        only[n].members.add(user)
        only[(n + 1) % users].members.add(user)
    return {
        "shared": encode_id(shared.pk),
        "tokens": [Token.objects.create(user=user).key for user in listers],
    }
