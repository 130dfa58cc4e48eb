"""Live lists: what the list endpoint returns for the user, kept live: enter, update, leave (``realtime.lists``)."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction

from api.models import Foo
from realtime import lists
from realtime.ids import encode_id
from realtime.lists import list_frame_text
from realtime.models import Notification
from tests.realtime.conftest import Sentinel, receive_until

pytestmark = pytest.mark.django_db(transaction=True)


async def subscribe_list(ws: WebsocketCommunicator, params: dict[str, Any], **fields: Any) -> list[dict]:
    await ws.send_json_to({"action": "subscribe", "object_type": "foo", "list": params, **fields})
    return await receive_until(ws, "subscribed")


async def change(foo: Foo, **changes: Any) -> None:
    def apply() -> None:
        for name, value in changes.items():
            setattr(foo, name, value)
        foo.save()

    await sync_to_async(apply)()


async def create(owner: Any, name: str, *members: Any) -> Foo:
    def make() -> Foo:
        with transaction.atomic():
            obj = Foo.objects.create(owner=owner, name=name)
            obj.members.add(*members)
        return obj

    return await sync_to_async(make)()


def list_frames(frames: list[dict], key: str) -> list[tuple[str, str, str]]:
    """(type, id, membership) of the frames of list ``key``."""
    return [
        (f["type"], f["meta"]["id"], f["meta"]["membership"]) for f in frames if f.get("meta", {}).get("list") == key
    ]


async def frames_before(sentinel: Sentinel) -> list[dict]:
    """Every frame until the sentinel's event (which comes after everything published before it)."""
    frames = []
    sentinel.fired += 1
    sentinel.foo.bar = f"sentinel-{sentinel.fired}"
    await sync_to_async(sentinel.foo.save)()
    while True:
        frame = await sentinel.communicator.receive_json_from(timeout=5)
        if frame.get("meta", {}).get("stream") == sentinel.stream and "list" not in frame["meta"]:
            return frames
        frames.append(frame)


LIST = {"search": "plan"}
KEY = "foo?search=plan"


async def test_subscribing_to_a_list_sends_its_members_and_names_it(connect, alice, bob):
    """A list subscribe without ``have`` sends every member (enter) and answers with the list's key."""
    first = await create(alice, "plan A", bob)
    await create(alice, "other")
    ws = await connect(bob)
    *frames, subscribed = await subscribe_list(ws, {**LIST, "limit": "5"})
    assert (subscribed["stream"], subscribed["list"], subscribed["members"], subscribed["replayed"]) == (
        KEY,
        True,
        1,
        1,
    )
    assert list_frames(frames, KEY) == [("UPDATE_FOO", encode_id(first.pk), "enter")]
    assert frames[0]["payload"]["name"] == "plan A"


async def test_enter_update_and_leave_for_every_kind_of_change(connect, alice, bob, carol, settings):
    """Created, changed, shared, unshared, renamed out of the filter and back, deleted: each reaches the list.

    Membership is decided when an event is delivered (by a query, once per process per user and list), so
    each step waits for its frame before the next change is made.
    """
    # Live events only: a periodic list sync (every 5 s by default) landing between the delete's commit and its
    # event would tell the leave first (LEAVE_FOO), and the event would then be skipped, on a slow run.
    settings.REALTIME = {"SYNC_INTERVAL": 0}
    ws = await connect(bob)
    sentinel = await Sentinel.on(ws, bob)
    await subscribe_list(ws, LIST)

    async def step(action: Any) -> list[tuple[str, str, str]]:
        await action()
        return list_frames(await frames_before(sentinel), KEY)

    shared = await create(alice, "plan shared", bob)
    pk = encode_id(shared.pk)
    assert list_frames(await frames_before(sentinel), KEY) == [("CREATE_FOO", pk, "enter")]
    hidden = await create(alice, "plan hidden")
    assert list_frames(await frames_before(sentinel), KEY) == []  # not visible to bob
    assert await step(lambda: change(shared, bar="new bar")) == [("UPDATE_FOO", pk, "update")]
    hidden_pk = encode_id(hidden.pk)
    assert await step(lambda: sync_to_async(hidden.members.add)(bob)) == [("UPDATE_FOO", hidden_pk, "enter")]
    assert await step(lambda: sync_to_async(hidden.members.remove)(bob)) == [("LEAVE_FOO", hidden_pk, "leave")]
    assert await step(lambda: change(shared, name="renamed")) == [("LEAVE_FOO", pk, "leave")]
    assert await step(lambda: change(shared, name="plan again")) == [("UPDATE_FOO", pk, "enter")]
    deleted = await frames_before_deleting(sentinel, shared)
    assert list_frames(deleted, KEY) == [("DELETE_FOO", pk, "leave")]
    leaves = [f for f in deleted if f["meta"]["membership"] == "leave"]
    assert all(set(f["payload"]) == {"id"} for f in leaves), "a leave tells only the id"


async def frames_before_deleting(sentinel: Sentinel, obj: Foo) -> list[dict]:
    await sync_to_async(obj.delete)()
    return await frames_before(sentinel)


async def test_no_event_reaches_a_list_subscriber_who_may_not_see_the_object(connect, alice, carol):
    """carol's list never hears of alice's private Foos, whatever happens to them."""
    ws = await connect(carol)
    sentinel = await Sentinel.on(ws, carol)
    await subscribe_list(ws, LIST)
    private = await create(alice, "plan private")
    await change(private, bar="SECRET")
    await sync_to_async(private.delete)()
    assert await frames_before(sentinel) == []


async def test_a_filter_backed_list_follows_the_viewsets_own_filter(connect, alice, bob):
    """``?role=member`` (the viewset's own filter backend, with ``.distinct()``) decides membership."""
    ws = await connect(bob)
    sentinel = await Sentinel.on(ws, bob)  # owned by bob: never in his "member" list
    await ws.send_json_to({"action": "subscribe", "object_type": "foo", "list": {"role": "member"}})
    (subscribed,) = await receive_until(ws, "subscribed")
    assert subscribed["members"] == 0
    shared = await create(alice, "shared with bob", bob)
    await change(sentinel.foo, name="still bob's own")
    frames = await frames_before(sentinel)
    assert list_frames(frames, "foo?role=member") == [("CREATE_FOO", encode_id(shared.pk), "enter")]


async def test_resubscribing_with_have_sends_only_what_changed(connect, alice, bob):
    """``have`` (what the client holds, with seqs): unchanged members are not sent, changed ones and leavers are."""
    same = await create(alice, "plan same", bob)
    moved = await create(alice, "plan moved", bob)
    gone = await create(alice, "plan gone", bob)
    ws = await connect(bob)
    *frames, _ = await subscribe_list(ws, LIST)
    have = {f["meta"]["id"]: f["meta"]["seq"] for f in frames}
    await ws.send_json_to({"action": "unsubscribe", "object_type": "foo", "list": LIST})
    await receive_until(ws, "unsubscribed")
    await change(moved, bar="changed while away")
    await sync_to_async(gone.members.remove)(bob)
    *frames, subscribed = await subscribe_list(ws, LIST, have=have)
    assert sorted(list_frames(frames, KEY)) == sorted(
        [("UPDATE_FOO", encode_id(moved.pk), "update"), ("LEAVE_FOO", encode_id(gone.pk), "leave")]
    )
    assert subscribed["members"] == 2
    assert encode_id(same.pk) in have


async def test_membership_is_one_query_per_event_per_user_and_list(connect, alice, bob, monkeypatch):
    """Three sockets of bob on the same list, one change: the membership query runs once, not per socket."""
    calls: list[Any] = []
    real = lists.list_member

    def counting(**kwargs: Any) -> Any:
        calls.append(kwargs["pk"])
        return real(**kwargs)

    from realtime import consumers

    monkeypatch.setattr(consumers, "list_member", counting)
    target = await create(alice, "plan counted", bob)
    sockets = [await connect(bob) for _ in range(3)]
    for ws in sockets:
        await subscribe_list(ws, LIST)
    calls.clear()
    await change(target, bar="once")
    for ws in sockets:
        frame = await ws.receive_json_from(timeout=5)
        assert (frame["meta"]["list"], frame["meta"]["membership"], frame["payload"]["bar"]) == (KEY, "update", "once")
    assert calls == [target.pk]


async def test_a_lost_live_message_is_caught_by_the_periodic_recheck(connect, alice, bob, settings, monkeypatch):
    """A change whose message the layer lost still reaches the list at the watcher's next check."""
    settings.REALTIME = {"SYNC_INTERVAL": 0.2}
    from realtime import pending

    ws = await connect(bob)
    await subscribe_list(ws, LIST)
    real_send = pending.publish.group_send
    monkeypatch.setattr(
        pending.publish,
        "group_send",
        lambda group, message: message["type"] != "realtime.listed" and real_send(group, message),
    )
    entered = await create(alice, "plan lost", bob)
    frame = await ws.receive_json_from(timeout=5)
    assert (frame["type"], frame["meta"]["id"], frame["meta"]["membership"]) == (
        "UPDATE_FOO",
        encode_id(entered.pk),
        "enter",
    )


async def test_unsubscribing_a_list_stops_it(connect, alice, bob):
    """After unsubscribe, the list's changes no longer arrive."""
    ws = await connect(bob)
    sentinel = await Sentinel.on(ws, bob)
    await subscribe_list(ws, LIST)
    await ws.send_json_to({"action": "unsubscribe", "request_id": "u", "object_type": "foo", "list": LIST})
    assert (await ws.receive_json_from())["stream"] == KEY
    await create(alice, "plan after", bob)
    assert await frames_before(sentinel) == []


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"list": "search=x"}, "list"),
        ({"list": {"search": 5}}, "list"),
        ({"list": {"search": ["a"] * 21}}, "list"),
        ({"list": {}, "id": "x"}, "list"),
        ({"list": {}, "have": {"x": -1}}, "have"),
        ({"list": {}, "have": []}, "have"),
    ],
)
async def test_bad_list_subscriptions_get_invalid(connect, bob, fields, field):
    """A malformed list or have is one ``invalid`` error naming the field."""
    ws = await connect(bob)
    await ws.send_json_to({"action": "subscribe", "object_type": "foo", **fields})
    error = await ws.receive_json_from()
    assert (error["type"], error["code"]) == ("error", "invalid")
    assert field in error["errors"]


def test_list_frames_are_the_event_text_with_two_meta_keys(foo):
    """The list frame is the logged event frame plus ``meta.list`` and ``meta.membership``, text spliced."""
    import json

    from realtime.frames import event_frame
    from realtime.protocol import encode

    notification = Notification.objects.select_related("stream").filter(stream__name=f"foo.{encode_id(foo.pk)}").first()
    text = encode(event_frame(notification))
    spliced = json.loads(list_frame_text(text, key='foo?search="x"', membership="enter"))
    original = json.loads(text)
    assert spliced == {**original, "meta": {**original["meta"], "list": 'foo?search="x"', "membership": "enter"}}
