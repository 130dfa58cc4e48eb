"""No event reaches a user who could not see the object at that event's commit: live, replayed or over REST."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import transaction
from rest_framework.test import APIClient

from api.models import Foo
from realtime import pending
from realtime.ids import encode_id
from realtime.registry import registry
from realtime.streams import group_name
from tests.realtime.conftest import receive_until, subscribe

pytestmark = pytest.mark.django_db(transaction=True)

LOG = "/api/notifications/"


@pytest.fixture
def beacon(make_user) -> Foo:
    """A Foo of another owner, shared with bob and carol, whose changes serve as sentinels."""
    from django.contrib.auth import get_user_model

    owner = make_user("beacon-owner")
    obj = Foo.objects.create(owner=owner, name="beacon")
    obj.members.add(*get_user_model().objects.filter(username__in=["bob", "carol"]))
    return obj


async def frames_before_beacon(ws: WebsocketCommunicator, beacon: Foo) -> list[dict[str, Any]]:
    """Everything the socket receives before a change of ``beacon`` made now.

    The beacon's event comes through the same channel layer queue after every
    message published before it, so nothing that came before it is still on
    its way: a sentinel, not a timeout.
    """
    await sync_to_async(lambda: (setattr(beacon, "bar", f"{beacon.bar}+"), beacon.save()))()
    frames = []
    while True:
        frame = await ws.receive_json_from(timeout=5)
        if frame.get("meta", {}).get("stream") == stream_name(beacon):
            return frames
        frames.append(frame)


def stream_name(foo: Foo) -> str:
    return registry.stream_for(foo).name


def patch_via_rest(foo: Foo, owner: Any, **body: Any) -> None:
    client = APIClient()
    client.force_authenticate(owner)
    response = client.patch(f"/api/foo/{encode_id(foo.pk)}", body, format="json")
    assert response.status_code == 200, response.content


def remove_then_change(foo: Foo, bob: Any) -> None:
    with transaction.atomic():
        foo.members.remove(bob)
        foo.bar = "SECRET"
        foo.save()


def change_then_remove(foo: Foo, bob: Any) -> None:
    with transaction.atomic():
        foo.bar = "SECRET"
        foo.save()
        foo.members.remove(bob)


def change_in_admin(foo: Foo, bob: Any) -> None:
    from django.contrib.auth import get_user_model
    from django.test import Client

    admin = get_user_model().objects.create_superuser("root", password="root-pw")
    client = Client()
    client.force_login(admin)
    form = {"owner": foo.owner_id, "name": foo.name, "bar": "SECRET", "members": [], "_save": "Save"}
    assert client.post(f"/admin/api/foo/{foo.pk}/change/", form).status_code == 302


WRITES: dict[str, Callable[[Foo, Any], None]] = {
    "rest": lambda foo, bob: patch_via_rest(foo, foo.owner, members=[], bar="SECRET"),
    "orm-members-first": remove_then_change,
    "orm-fields-first": change_then_remove,
    "admin": change_in_admin,
}


# --- live: the write that removes a member ----------------------------------------------------------------


@pytest.mark.parametrize("write", sorted(WRITES))
async def test_a_removed_member_never_receives_the_write_that_removes_them(connect, alice, bob, foo, beacon, write):
    """The removal and a field change in one write: bob is unsubscribed (revoked) without the new state."""
    owner, member = await connect(alice), await connect(bob)
    await subscribe(owner, foo)
    await subscribe(member, foo)
    await subscribe(member, beacon)
    await sync_to_async(WRITES[write])(foo, bob)
    (update,) = [frame for frame in await receive_until(owner, "UPDATE_FOO")]
    assert (update["payload"]["bar"], update["payload"]["members"]) == ("SECRET", [])
    frames = await frames_before_beacon(member, beacon)
    assert frames == [{"type": "unsubscribed", "stream": stream_name(foo), "reason": "revoked"}]


async def test_a_member_who_stays_receives_one_event_with_the_final_state(connect, bob, carol, foo, beacon):
    """Removing carol and changing a field in one write reaches bob (who stays) as one UPDATE_FOO."""
    await sync_to_async(foo.members.add)(carol)
    member = await connect(bob)
    await subscribe(member, foo)
    await subscribe(member, beacon)
    await sync_to_async(patch_via_rest)(foo, foo.owner, members=["bob"], bar="kept")
    frames = await frames_before_beacon(member, beacon)
    assert [(f["type"], f["payload"]["bar"], f["payload"]["members"]) for f in frames] == [
        ("UPDATE_FOO", "kept", ["bob"])
    ]


# --- replay and the REST log never reach back across a visibility change -----------------------------


async def test_a_newly_added_member_cannot_replay_from_before_being_added(connect, alice, carol, foo):
    """carol, added at seq 3, asking from 0: ``recovered: false`` (reason ``visibility``), nothing replayed."""
    await sync_to_async(lambda: (setattr(foo, "bar", "before carol"), foo.save()))()
    await sync_to_async(foo.members.add)(carol)  # seq 4
    ws = await connect(carol)
    (subscribed,) = await subscribe(ws, foo, since=0)
    assert (subscribed["recovered"], subscribed["replayed"], subscribed["reason"]) == (False, 0, "visibility")
    *replayed, subscribed = await subscribe(ws, foo, since=3)
    assert [frame["payload"]["members"] for frame in replayed] == [["bob", "carol"]]
    assert subscribed["recovered"] is True


async def test_a_re_added_member_cannot_replay_what_happened_while_removed(connect, alice, bob, foo):
    """bob removed, a secret set and overwritten, bob added again: his replay from before is refused."""
    await sync_to_async(foo.members.remove)(bob)  # seq 3
    await sync_to_async(lambda: (setattr(foo, "bar", "SECRET"), foo.save()))()  # seq 4
    await sync_to_async(lambda: (setattr(foo, "bar", "public"), foo.save()))()  # seq 5
    await sync_to_async(foo.members.add)(bob)  # seq 6
    ws = await connect(bob)
    (subscribed,) = await subscribe(ws, foo, since=2)
    assert (subscribed["recovered"], subscribed["reason"]) == (False, "visibility")
    client = APIClient()
    client.force_authenticate(bob)
    response = await sync_to_async(client.get)(LOG, {"stream": stream_name(foo), "since": 2})
    assert (response.status_code, response.json()["reason"]) == (410, "visibility")
    latest = (await sync_to_async(client.get)(LOG, {"stream": stream_name(foo)})).json()
    assert [frame["meta"]["seq"] for frame in latest["results"]] == [6]
    assert "SECRET" not in str(latest)


def test_the_owner_is_refused_across_a_visibility_change_too(client_for, alice, foo):
    """The rule is per stream, simple and sound: nobody replays across a membership change; everybody reloads."""
    response = client_for(alice).get(LOG, {"stream": stream_name(foo), "since": 0})
    assert (response.status_code, response.json()["reason"]) == (410, "visibility")
    assert client_for(alice).get(LOG, {"stream": stream_name(foo), "since": 1}).status_code == 200


# --- live: lost and late messages ------------------------------------------------------------------------------


async def test_a_gap_across_a_removal_and_re_add_is_not_filled_with_the_secret(connect, bob, foo, beacon, monkeypatch):
    """Lost: bob removed, a secret set and overwritten, bob re-added. The next live event brings no secret along."""
    ws = await connect(bob)
    await subscribe(ws, foo)
    await subscribe(ws, beacon)
    monkeypatch.setattr(pending.publish, "group_send", lambda group, message: False)  # lost by the layer
    await sync_to_async(foo.members.remove)(bob)  # seq 3 (its recheck is lost too)
    await sync_to_async(lambda: (setattr(foo, "bar", "SECRET"), foo.save()))()  # seq 4
    await sync_to_async(lambda: (setattr(foo, "bar", "public"), foo.save()))()  # seq 5
    await sync_to_async(foo.members.add)(bob)  # seq 6
    monkeypatch.undo()
    await sync_to_async(lambda: (setattr(foo, "name", "renamed"), foo.save()))()  # seq 7, delivered
    frames = await frames_before_beacon(ws, beacon)
    assert [frame["meta"]["seq"] for frame in frames] == [6, 7]  # a gap the client reloads over
    assert "SECRET" not in str(frames)


async def test_a_late_removal_event_is_skipped_when_access_changed_again(connect, bob, foo, beacon, monkeypatch):
    """bob's removal event arrives only after he was re-added: it is skipped, so is the secret; the re-add is not."""
    ws = await connect(bob)
    await subscribe(ws, foo)
    await subscribe(ws, beacon)
    held: list[dict[str, Any]] = []
    monkeypatch.setattr(pending.publish, "group_send", lambda group, message: held.append(message) or True)
    await sync_to_async(foo.members.remove)(bob)  # seq 3, recheck bob
    await sync_to_async(lambda: (setattr(foo, "bar", "SECRET"), foo.save()))()  # seq 4
    await sync_to_async(lambda: (setattr(foo, "bar", "public"), foo.save()))()  # seq 5
    await sync_to_async(foo.members.add)(bob)  # seq 6
    monkeypatch.undo()
    layer = get_channel_layer()
    for message in held:  # now delivered, in order, after all four committed
        await layer.group_send(group_name(stream_name(foo)), message)
    frames = await frames_before_beacon(ws, beacon)
    assert [frame["meta"]["seq"] for frame in frames] == [6]
    assert "SECRET" not in str(frames)
