"""``auth.User``, a model the demo does not own, live as ``account`` (``api/live.py``), with its type stream.

Registration made ``User.save``/``delete`` atomic and attached a
``FieldTracker`` of the fields the API renders, minus ``password`` and
``last_login``: profile changes are events, in the same transaction as the
change; a password change or a login is none. ``type_stream`` logs every
change to any account on the stream ``account`` too, readable by users with
``auth.view_user`` (the service accounts of followers, docs/mirror.md).
"""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.test import Client

from api.views import AccountViewSet
from realtime import tracking
from realtime.ids import encode_id
from realtime.registry import registry
from tests.hosts.conftest import connect, next_event, request, rest_client, without_stream  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)
User = get_user_model()


def url(user) -> str:
    return f"/api/accounts/{encode_id(user.pk)}/"


def grant_view_user(user) -> None:
    user.user_permissions.add(Permission.objects.get(codename="view_user", content_type__app_label="auth"))


def test_the_user_model_is_live_without_a_change_to_it():
    """Tracked: the rendered profile fields, never the password or the last login; groups as a many-to-many."""
    live = registry.get("account")
    assert live.model is User
    assert set(live.tracked) == {"username", "first_name", "last_name", "email", "is_active"}
    assert live.m2m == ("groups",)
    assert live.type_stream
    assert getattr(User.save, "_realtime_atomic", False)
    assert getattr(User.delete, "_realtime_atomic", False)


def test_a_live_viewset_keeps_only_its_own_actions(alice, staff):
    """LiveViewSetMixin gives a read-only viewset no create, update or destroy: POST, PATCH and DELETE are 405."""
    assert not hasattr(AccountViewSet, "create")
    assert not hasattr(AccountViewSet, "update")
    assert not hasattr(AccountViewSet, "destroy")
    admin = rest_client(staff)
    assert admin.delete(url(alice)).status_code == 405
    assert admin.patch(url(alice), {"first_name": "x"}, format="json").status_code == 405
    assert admin.post("/api/accounts/", {}, format="json").status_code == 405


def test_who_sees_which_accounts(alice, bob, staff):
    """A user lists only themself; staff and holders of auth.view_user list everyone; others' details are 404."""
    assert [a["username"] for a in rest_client(alice).get("/api/accounts/").json()["results"]] == ["alice"]
    assert rest_client(alice).get(url(bob)).status_code == 404
    everyone = {"alice", "bob", "staff"}
    assert {a["username"] for a in rest_client(staff).get("/api/accounts/").json()["results"]} == everyone
    grant_view_user(bob)
    bob = User.objects.get(pk=bob.pk)  # a fresh permission cache
    assert {a["username"] for a in rest_client(bob).get("/api/accounts/").json()["results"]} == everyone
    assert rest_client(bob).get(url(alice)).json()["username"] == "alice"


async def test_user_lifecycle(alice, bob, staff, connect):  # noqa: F811
    """Create, profile changes, groups and delete reach a subscriber as REST shows them; passwords and logins do not."""
    public_id = encode_id(alice.pk)
    stream = f"account.{public_id}"
    admin = await sync_to_async(rest_client)(staff)

    async def get() -> dict:
        return without_stream((await sync_to_async(admin.get)(url(alice))).json())

    # Bob may not GET alice (404), so he may not subscribe.
    bobs = await sync_to_async(rest_client)(bob)
    assert (await sync_to_async(bobs.get)(url(alice))).status_code == 404
    ws_bob = await connect(bob)
    frames = await request(ws_bob, {"action": "subscribe", "object_type": "account", "id": public_id})
    assert frames[-1]["code"] == "not_found"

    ws = await connect(staff)
    *replayed, subscribed = await request(
        ws, {"action": "subscribe", "object_type": "account", "id": public_id, "since": 0}
    )
    assert (subscribed["stream"], subscribed["seq"], [f["type"] for f in replayed]) == (stream, 1, ["CREATE_ACCOUNT"])
    assert replayed[0]["payload"] == await get()

    alice.first_name = "Alice"
    await sync_to_async(alice.save)()
    event = await next_event(ws)
    assert (event["type"], event["meta"]["seq"]) == ("UPDATE_ACCOUNT", 2)
    assert event["payload"] == await get()
    assert event["payload"]["first_name"] == "Alice"
    loaded = (await sync_to_async(admin.get)(url(alice))).json()["stream"]
    assert (loaded["name"], loaded["seq"]) == (stream, 2)

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
    assert (deleted["type"], deleted["meta"]["seq"], deleted["payload"]) == ("DELETE_ACCOUNT", 5, {"id": encode_id(pk)})
    assert ended == {"type": "unsubscribed", "stream": stream, "reason": "deleted"}


def _change_password_and_log_in(user) -> None:
    user.set_password("a-new-password")
    user.save()
    assert Client().login(username=user.username, password="a-new-password")  # saves last_login
    user.refresh_from_db()
    assert user.last_login is not None


async def test_the_type_stream_carries_every_account_in_commit_order(alice, bob, make_user, connect):  # noqa: F811
    """A holder of auth.view_user subscribes to ``account``: every account's changes, one dense seq, no password."""
    await sync_to_async(grant_view_user)(bob)
    ws_alice = await connect(alice)
    frames = await request(ws_alice, {"action": "subscribe", "object_type": "account", "since": 0})
    assert frames[-1]["code"] == "not_found", "without the permission the type stream is not there"

    ws = await connect(bob)
    *replayed, subscribed = await request(ws, {"action": "subscribe", "object_type": "account", "since": 0})
    assert subscribed["stream"] == "account"
    assert subscribed["recovered"]
    assert [(f["type"], f["payload"]["username"], f["meta"]["seq"]) for f in replayed] == [
        ("CREATE_ACCOUNT", "alice", 1),
        ("CREATE_ACCOUNT", "bob", 2),
    ]
    await sync_to_async(_change_password_and_log_in)(alice)  # no event
    carol = await sync_to_async(make_user)("carol")
    carol.last_name = "C"
    await sync_to_async(carol.save)()
    await sync_to_async(carol.delete)()
    events = [await next_event(ws) for _ in range(3)]
    assert [(e["type"], e["meta"]["seq"], e["meta"]["stream"]) for e in events] == [
        ("CREATE_ACCOUNT", 3, "account"),
        ("UPDATE_ACCOUNT", 4, "account"),
        ("DELETE_ACCOUNT", 5, "account"),
    ]
    assert events[1]["payload"]["last_name"] == "C"
    assert "password" not in events[1]["payload"]
    assert "last_login" not in events[1]["payload"]


def test_the_type_stream_pages_over_rest(alice, bob):
    """``GET /api/notifications/?stream=account&since=`` pages the type stream for auth.view_user; others get 404."""
    assert rest_client(alice).get("/api/notifications/?stream=account&since=0").status_code == 404
    grant_view_user(bob)
    page = rest_client(bob).get("/api/notifications/?stream=account&since=0&limit=1").json()
    assert (page["stream"], page["seq"], [e["meta"]["seq"] for e in page["results"]]) == ("account", 2, [1])
    page = rest_client(bob).get(page["next"]).json()
    assert ([e["payload"]["username"] for e in page["results"]], page["next"]) == (["bob"], None)


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
