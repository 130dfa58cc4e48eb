"""``auth.User``, a model the host does not own, made live by ``live.py`` alone (``AccountLive``).

Registration made ``User.save``/``delete`` atomic and attached a
``FieldTracker`` of the fields the API renders, minus ``password`` and
``last_login``: profile changes are events, in the same transaction as the
change; a password change or a login is none.
"""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from realtime import tracking
from realtime.registry import registry
from tests.hosts.conftest import next_event, rest_client, subscribe, without_stream
from tests.hosts.shapes.views import AccountViewSet

pytestmark = pytest.mark.django_db(transaction=True)
User = get_user_model()


def test_the_user_model_is_live_without_a_change_to_it():
    """Tracked: the rendered profile fields, never the password or the last login; groups as a many-to-many."""
    live = registry.get("account")
    assert live.model is User
    assert set(live.tracked) == {"username", "first_name", "last_name", "email", "is_active"}
    assert live.m2m == ("groups",)
    assert getattr(User.save, "_realtime_atomic", False)
    assert getattr(User.delete, "_realtime_atomic", False)


def test_a_live_viewset_keeps_only_its_own_actions(alice, staff):
    """LiveViewSetMixin gives a retrieve/update viewset no create or destroy: DELETE is a 405, POST has no route."""
    assert not hasattr(AccountViewSet, "create")
    assert not hasattr(AccountViewSet, "destroy")
    admin = rest_client(staff)
    assert admin.delete(f"/hosts/accounts/{alice.pk}/").status_code == 405
    assert admin.post("/hosts/accounts/", {}, format="json").status_code == 404


async def test_user_lifecycle(alice, bob, staff, connect):
    """Create, profile PATCH, groups and delete reach a subscriber as REST shows them; passwords and logins do not."""
    stream = f"account.{alice.pk}"
    admin, own = await sync_to_async(rest_client)(staff), await sync_to_async(rest_client)(alice)

    async def get() -> dict:
        return without_stream((await sync_to_async(admin.get)(f"/hosts/accounts/{alice.pk}/")).json())

    # Bob may not GET alice (404), so he may not subscribe.
    bobs = await sync_to_async(rest_client)(bob)
    assert (await sync_to_async(bobs.get)(f"/hosts/accounts/{alice.pk}/")).status_code == 404
    ws_bob = await connect(bob)
    assert (await subscribe(ws_bob, "account", alice.pk))[-1]["code"] == "not_found"

    ws = await connect(staff)
    *replayed, subscribed = await subscribe(ws, "account", alice.pk, since=0)
    assert (subscribed["stream"], subscribed["seq"], [f["type"] for f in replayed]) == (stream, 1, ["CREATE_ACCOUNT"])
    assert replayed[0]["payload"] == await get()

    answer = await sync_to_async(own.patch)(f"/hosts/accounts/{alice.pk}/", {"first_name": "Alice"}, format="json")
    event = await next_event(ws)
    assert (event["type"], event["meta"]["seq"], answer.json()["stream"]["seq"]) == ("UPDATE_ACCOUNT", 2, 2)
    assert event["payload"] == await get() == without_stream(answer.json())
    assert event["payload"]["first_name"] == "Alice"

    group = await sync_to_async(Group.objects.create)(name="editors")
    await sync_to_async(group.user_set.add)(alice)  # the reverse side of User.groups
    event = await next_event(ws)
    assert (event["meta"]["seq"], event["payload"]["groups"]) == (3, ["editors"])
    assert event["payload"] == await get()

    await sync_to_async(_change_password_and_log_in)(alice)
    alice.email = "alice@example.com"
    await sync_to_async(alice.save)(update_fields=["email"])
    event = await next_event(ws)  # the sentinel: nothing came before it
    assert (event["meta"]["seq"], event["payload"]["email"]) == (4, "alice@example.com"), event
    assert event["payload"] == await get()

    pk = alice.pk
    await sync_to_async(alice.delete)()
    deleted, ended = await next_event(ws), await next_event(ws)
    assert (deleted["type"], deleted["meta"]["seq"], deleted["payload"]) == ("DELETE_ACCOUNT", 5, {"id": pk})
    assert ended == {"type": "unsubscribed", "stream": stream, "reason": "deleted"}


def _change_password_and_log_in(user) -> None:
    user.set_password("a-new-password")
    user.save()
    assert Client().login(username=user.username, password="a-new-password")  # saves last_login
    user.refresh_from_db()
    assert user.last_login is not None


def test_a_failing_append_rolls_the_user_save_back(alice, monkeypatch):
    """The event is logged in the save's own transaction: when logging fails, the user's change is not saved."""

    def broken(**kwargs):
        raise RuntimeError("the log is unavailable")

    monkeypatch.setattr(tracking, "notification_append", broken)
    alice.first_name = "Changed"
    with pytest.raises(RuntimeError, match="the log is unavailable"):
        alice.save()
    alice.refresh_from_db()
    assert alice.first_name == ""
