"""SubscriptionConsumer over the real ASGI stack: actions, error codes, permissions, delivery, revocation."""

from __future__ import annotations

import json
import threading

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction

from api.models import Foo
from api.serializers import FooSerializer
from realtime import consumers, protocol, publish, subscriptions
from realtime.ids import encode_id, get_hashids
from realtime.models import Notification
from realtime.streams import type_group, user_group
from realtime.watcher import get_watcher
from tests.realtime.conftest import Sentinel, receive_first, receive_until, subscribe

pytestmark = pytest.mark.django_db(transaction=True)


def foo_message(foo: Foo, **fields) -> dict:
    return {"action": "subscribe", "object_type": "foo", "id": encode_id(foo.pk), **fields}


async def save(foo: Foo, **changes) -> None:
    for name, value in changes.items():
        setattr(foo, name, value)
    await sync_to_async(foo.save)()


# --- actions -------------------------------------------------------------------


async def test_ping_echoes_string_and_integer_request_ids(connect, alice):
    """ping answers pong with the request_id as sent, or without one when none was sent."""
    ws = await connect(alice)
    await ws.send_json_to({"action": "ping", "request_id": "r-1"})
    assert await ws.receive_json_from() == {"type": "pong", "request_id": "r-1"}
    await ws.send_json_to({"action": "ping", "request_id": 7})
    assert await ws.receive_json_from() == {"type": "pong", "request_id": 7}
    await ws.send_json_to({"action": "ping"})
    assert await ws.receive_json_from() == {"type": "pong"}


async def test_subscribe_without_since_reports_the_head(connect, alice, foo):
    """A subscribe without a position replays nothing and says where the stream is."""
    ws = await connect(alice)
    frames = await subscribe(ws, foo, request_id="r1")
    head = await sync_to_async(Notification.objects.filter(stream__name=f"foo.{encode_id(foo.pk)}").count)()
    assert frames == [
        {
            "type": "subscribed",
            "request_id": "r1",
            "stream": f"foo.{encode_id(foo.pk)}",
            "epoch": frames[0]["epoch"],
            "seq": head,
            "recovered": False,
            "replayed": 0,
        }
    ]
    assert head == 2  # created, then bob added as a member


async def test_live_update_is_the_exact_frame(connect, alice, foo):
    """A tracked change reaches a subscriber as UPDATE_FOO with the serializer payload and full meta."""
    ws = await connect(alice)
    subscribed = (await subscribe(ws, foo))[-1]
    await save(foo, bar="changed")
    frame = await ws.receive_json_from()
    row = await sync_to_async(Notification.objects.get)(stream__name=subscribed["stream"], seq=subscribed["seq"] + 1)
    payload = await sync_to_async(lambda: FooSerializer(Foo.objects.get(pk=foo.pk)).data)()
    assert frame == {
        "type": "UPDATE_FOO",
        "payload": json.loads(json.dumps(payload)),
        "meta": {
            "stream": subscribed["stream"],
            "epoch": subscribed["epoch"],
            "seq": subscribed["seq"] + 1,
            "event": "api:foo:changed",
            "object_type": "foo",
            "id": encode_id(foo.pk),
            "at": row.created_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        },
    }
    assert "stream" not in frame["payload"]


async def test_unsubscribe_stops_delivery(connect, alice, foo):
    """After unsubscribe (echoing request_id) no further events arrive; repeating it is harmless."""
    ws = await connect(alice)
    sentinel = await Sentinel.on(ws, alice)
    stream = (await subscribe(ws, foo))[-1]["stream"]
    message = {"action": "unsubscribe", "request_id": "u1", "object_type": "foo", "id": encode_id(foo.pk)}
    await ws.send_json_to(message)
    assert await ws.receive_json_from() == {"type": "unsubscribed", "request_id": "u1", "stream": stream}
    await save(foo, bar="unseen")
    await sentinel.fire()
    await ws.send_json_to(message)
    assert (await ws.receive_json_from())["type"] == "unsubscribed"


async def test_several_subscribers_each_get_the_event(connect, alice, bob, staff, foo):
    """Owner, member and staff subscribers all receive one change, as identical text."""
    sockets = [await connect(user) for user in (alice, bob, staff)]
    for ws in sockets:
        await subscribe(ws, foo)
    await save(foo, name="renamed")
    texts = [await ws.receive_from() for ws in sockets]
    assert len(set(texts)) == 1
    assert json.loads(texts[0])["payload"]["name"] == "renamed"


async def test_serialized_once_and_no_sql_per_delivery(
    connect, alice, bob, staff, foo, settings, monkeypatch, sql_statements
):
    """One change to three subscribers runs the serializer once, and delivering it runs no SQL statement at all."""
    settings.REALTIME = {"SYNC_INTERVAL": 0}  # no watcher query meanwhile
    sockets = [await connect(user) for user in (alice, bob, staff)]
    for ws in sockets:
        await subscribe(ws, foo)
    # Control: the spy sees the async ORM and database_sync_to_async, which run in asgiref's thread.
    sql_statements.start()
    await Foo.objects.filter(pk=foo.pk).aexists()
    await database_sync_to_async(Foo.objects.filter(pk=foo.pk).exists)()
    assert len(sql_statements.stop()) == 2
    sql_statements.executed.clear()
    serialized = []
    original_to_representation = FooSerializer.to_representation

    def counting_to_representation(self, instance):
        serialized.append(instance.pk)
        return original_to_representation(self, instance)

    monkeypatch.setattr(FooSerializer, "to_representation", counting_to_representation)

    def change() -> None:
        foo.bar = "once"
        foo.save()  # commits and publishes
        # In the thread every database call of a consumer queues behind: each one is counted.
        sql_statements.start()

    await sync_to_async(change)()
    for ws in sockets:
        assert json.loads(await ws.receive_from())["payload"]["bar"] == "once"
    assert sql_statements.stop() == []
    assert serialized == [foo.pk]


async def test_the_frame_is_encoded_once_not_per_subscriber(connect, alice, bob, staff, foo, monkeypatch):
    """Delivering one change to three subscribers neither decodes nor encodes JSON: the published text is forwarded."""
    sockets = [await connect(user) for user in (alice, bob, staff)]
    for ws in sockets:
        await subscribe(ws, foo)
    loop_thread = threading.get_ident()  # where consumers run; the change is made in another thread
    calls: list[str] = []

    def spy(name, real):
        def counting(*args, **kwargs):
            if threading.get_ident() == loop_thread:
                calls.append(name)
            return real(*args, **kwargs)

        return counting

    monkeypatch.setattr(json, "dumps", spy("json.dumps", json.dumps))
    monkeypatch.setattr(json, "loads", spy("json.loads", json.loads))
    monkeypatch.setattr(protocol, "encode", spy("protocol.encode", protocol.encode))
    await save(foo, bar="forwarded")
    texts = [await ws.receive_from() for ws in sockets]  # raw text: the test decodes nothing itself meanwhile
    monkeypatch.undo()
    assert calls == []
    assert len(set(texts)) == 1
    assert json.loads(texts[0])["payload"]["bar"] == "forwarded"


# --- permissions -------------------------------------------------------------


@pytest.mark.parametrize("who", ["alice", "bob", "staff"])
async def test_owner_member_and_staff_may_subscribe(connect, foo, who, alice, bob, staff):
    """Everyone the REST detail view shows the Foo to may subscribe to it."""
    ws = await connect({"alice": alice, "bob": bob, "staff": staff}[who])
    assert (await subscribe(ws, foo))[-1]["type"] == "subscribed"


async def test_no_existence_oracle(connect, carol, alice, foo):
    """Forbidden, unknown, deleted and malformed ids all get the identical not_found error."""
    gone = await sync_to_async(Foo.objects.create)(owner=alice, name="gone")
    gone_id = encode_id(gone.pk)
    await sync_to_async(gone.delete)()
    ws = await connect(carol)
    ids = [encode_id(foo.pk), encode_id(10**9), gone_id, "not-a-hashid", get_hashids().encode(foo.pk, 1)]
    errors = []
    for hashid in ids:
        await ws.send_json_to({"action": "subscribe", "object_type": "foo", "id": hashid, "request_id": "x"})
        errors.append(await ws.receive_json_from())
    assert all(error == errors[0] for error in errors), errors
    assert errors[0] == {
        "type": "error",
        "request_id": "x",
        "code": "not_found",
        "message": "No such object, or you may not see it.",
    }


async def test_anonymous_is_closed_with_4401(connect):
    """Without credentials the socket is accepted and closed with 4401."""
    ws = await connect(None)
    assert await ws.receive_output() == {"type": "websocket.close", "code": protocol.CLOSE_NOT_AUTHENTICATED}


async def test_anonymous_allowed_gets_not_authenticated(connect, foo, settings):
    """With ALLOW_ANONYMOUS an anonymous socket stays open but REST's login rule still applies."""
    settings.REALTIME = {"ALLOW_ANONYMOUS": True}
    ws = await connect(None)
    await ws.send_json_to(foo_message(foo, request_id=1))
    assert (await ws.receive_json_from())["code"] == "not_authenticated"
    await ws.send_json_to({"action": "subscribe", "object_type": "inbox"})
    assert (await ws.receive_json_from())["code"] == "not_authenticated"
    await ws.send_json_to({"action": "ping"})
    assert (await ws.receive_json_from())["type"] == "pong"


async def test_invalid_token_is_anonymous(connect, foo):
    """A wrong Authorization token authenticates nobody: closed with 4401."""
    from channels.testing import WebsocketCommunicator

    from project.asgi import application

    ws = WebsocketCommunicator(
        application,
        "/ws/notifications/",
        headers=[(b"host", b"localhost"), (b"origin", b"http://localhost"), (b"authorization", b"Token bad")],
    )
    assert (await ws.connect())[0]
    assert (await ws.receive_output())["code"] == protocol.CLOSE_NOT_AUTHENTICATED
    await ws.disconnect()


async def test_cross_origin_handshake_is_rejected(connect, alice):
    """An Origin outside ALLOWED_HOSTS (or none at all) is refused at the handshake."""
    await connect(alice, origin=b"http://evil.example", expect=False)
    await connect(alice, origin=b"", expect=False)


# --- bad input -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ("{not json", "The frame is not valid JSON."),
        ("", "The frame is not valid JSON."),
        ("[1, 2]", "A message must be a JSON object."),
        ("42", "A message must be a JSON object."),
        ('"subscribe"', "A message must be a JSON object."),
    ],
)
async def test_malformed_frames_get_invalid_and_the_socket_stays_open(connect, alice, frame, message):
    """Non-JSON and non-object frames get one invalid error; the socket keeps working."""
    ws = await connect(alice)
    await ws.send_input({"type": "websocket.receive", "text": frame})
    assert await ws.receive_json_from() == {"type": "error", "code": "invalid", "message": message}
    await ws.send_json_to({"action": "ping"})
    assert (await ws.receive_json_from())["type"] == "pong"


async def test_binary_frame_gets_invalid(connect, alice):
    """A binary frame is refused with invalid, not a dropped socket."""
    ws = await connect(alice)
    await ws.send_to(bytes_data=b'{"action": "ping"}')
    assert (await ws.receive_json_from())["code"] == "invalid"
    await ws.send_json_to({"action": "ping"})
    assert (await ws.receive_json_from())["type"] == "pong"


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({}, "action"),
        ({"action": "dance"}, "action"),
        ({"action": "ping", "request_id": {"a": 1}}, "request_id"),
        ({"action": "subscribe"}, "object_type"),
        ({"action": "subscribe", "object_type": "bar", "id": "x"}, "object_type"),
        ({"action": "subscribe", "object_type": "foo"}, "id"),
        ({"action": "subscribe", "object_type": "foo", "id": 12}, "id"),
        ({"action": "subscribe", "object_type": "inbox", "id": "abc"}, "id"),
        ({"action": "unsubscribe", "object_type": "foo"}, "id"),
    ],
)
async def test_bad_shapes_get_invalid_with_field_errors(connect, alice, message, field):
    """Each shape error names the offending field in DRF's errors."""
    ws = await connect(alice)
    await ws.send_json_to({**message, "request_id": message.get("request_id", "q")})
    error = await ws.receive_json_from()
    assert error["type"] == "error"
    assert error["code"] == "invalid"
    assert field in error["errors"], error


@pytest.mark.parametrize("since", [-1, "soon", 1.5, True])
async def test_bad_since_is_invalid(connect, alice, foo, since):
    """since must be a non-negative integer."""
    ws = await connect(alice)
    await ws.send_json_to(foo_message(foo, since=since, request_id="s"))
    error = await ws.receive_json_from()
    assert (error["code"], list(error["errors"])) == ("invalid", ["since"])


async def test_oversized_frame_closes_with_1009(connect, alice, settings):
    """A frame over MAX_FRAME_BYTES closes the socket with 1009."""
    settings.REALTIME = {"MAX_FRAME_BYTES": 1024}
    ws = await connect(alice)
    await ws.send_to(text_data=json.dumps({"action": "ping", "pad": "é" * 600}))
    assert await ws.receive_output() == {"type": "websocket.close", "code": protocol.CLOSE_MESSAGE_TOO_BIG}


async def test_one_bad_socket_does_not_affect_another(connect, alice, bob, foo):
    """Garbage on one socket leaves another socket's subscription delivering."""
    good = await connect(bob)
    await subscribe(good, foo)
    bad = await connect(alice)
    for frame in ("nope", "[]", '{"action": 1}'):
        await bad.send_to(text_data=frame)
        assert (await bad.receive_json_from())["code"] == "invalid"
    await save(foo, bar="still live")
    assert (await good.receive_json_from())["payload"]["bar"] == "still live"


async def test_subscription_cap(connect, alice, settings):
    """Past MAX_SUBSCRIPTIONS streams a subscribe gets too_many_subscriptions; resubscribing is not counted."""
    settings.REALTIME = {"MAX_SUBSCRIPTIONS": 2}
    foos = [await sync_to_async(Foo.objects.create)(owner=alice, name=f"f{i}") for i in range(3)]
    ws = await connect(alice)
    await subscribe(ws, foos[0])
    await subscribe(ws, foos[1])
    assert (await subscribe(ws, foos[1]))[-1]["type"] == "subscribed"
    await ws.send_json_to(foo_message(foos[2], request_id="third"))
    assert await ws.receive_json_from() == {
        "type": "error",
        "request_id": "third",
        "code": "too_many_subscriptions",
        "message": "This connection has too many subscriptions; unsubscribe from some first.",
    }


async def test_rate_limit(connect, alice, settings):
    """Messages beyond the burst get rate_limited errors, and the socket stays usable."""
    settings.REALTIME = {"RATE_LIMIT": 0.001, "RATE_BURST": 3}
    ws = await connect(alice)
    replies = []
    for i in range(5):
        await ws.send_json_to({"action": "ping", "request_id": i})
        replies.append(await ws.receive_json_from())
    assert [r["type"] for r in replies] == ["pong"] * 3 + ["error"] * 2
    assert {r["code"] for r in replies[3:]} == {"rate_limited"}
    assert [r["request_id"] for r in replies] == [0, 1, 2, 3, 4]


# --- tracking and delivery -------------------------------------------------------


async def test_untracked_save_publishes_nothing(connect, alice, foo):
    """A save that changes no tracked field sends no event (updated_at alone is not tracked)."""
    ws = await connect(alice)
    subscribed = (await subscribe(ws, foo))[-1]
    await save(foo)
    await save(foo, bar=foo.bar)
    await save(foo, bar="tracked")
    frame = await receive_first(ws, stream=subscribed["stream"], seq=subscribed["seq"] + 1)
    assert frame["payload"]["bar"] == "tracked"


async def test_rolled_back_change_publishes_nothing(connect, alice, foo):
    """A change whose transaction rolls back sends nothing and logs nothing."""
    ws = await connect(alice)
    head = (await subscribe(ws, foo))[-1]["seq"]

    def change_then_fail():
        with transaction.atomic():
            foo.bar = "never"
            foo.save()
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        await sync_to_async(change_then_fail)()
    assert await sync_to_async(Notification.objects.filter(seq__gt=head, event="api:foo:changed").exists)() is False
    await save(foo, bar="committed")
    frame = await receive_first(ws, stream=f"foo.{encode_id(foo.pk)}", seq=head + 1)
    assert frame["payload"]["bar"] == "committed"


async def test_changes_from_rest_reach_subscribers(connect, alice, bob, foo, client_for):
    """A PATCH through the REST API is published like any other save."""
    ws = await connect(bob)
    await subscribe(ws, foo)
    response = await sync_to_async(client_for(alice).patch)(
        f"/api/foo/{encode_id(foo.pk)}", {"name": "via rest"}, format="json"
    )
    assert response.status_code == 200
    frame = await ws.receive_json_from()
    assert frame["payload"]["name"] == "via rest"
    assert frame["meta"]["seq"] == response.json()["stream"]["seq"]


async def test_delete_tells_then_unsubscribes(connect, alice, bob, foo):
    """Deleting a Foo sends DELETE_FOO, then unsubscribed(reason=deleted); resubscribing is not_found."""
    ws = await connect(bob)
    stream = (await subscribe(ws, foo))[-1]["stream"]
    await sync_to_async(foo.delete)()
    deleted = await ws.receive_json_from()
    assert (deleted["type"], deleted["payload"], deleted["meta"]["event"]) == (
        "DELETE_FOO",
        {"id": stream.split(".")[1]},
        "api:foo:deleted",
    )
    assert await ws.receive_json_from() == {"type": "unsubscribed", "stream": stream, "reason": "deleted"}
    await ws.send_json_to({"action": "subscribe", "object_type": "foo", "id": stream.split(".")[1]})
    assert (await ws.receive_json_from())["code"] == "not_found"


# --- revocation ------------------------------------------------------------------


async def test_removed_member_is_revoked_without_seeing_the_change(connect, alice, bob, foo):
    """Removing bob from the members ends his subscription; alice still gets the change."""
    owner, member = await connect(alice), await connect(bob)
    await subscribe(owner, foo)
    sentinel = await Sentinel.on(member, bob)
    stream = (await subscribe(member, foo))[-1]["stream"]
    await sync_to_async(foo.members.remove)(bob)
    assert await member.receive_json_from() == {"type": "unsubscribed", "stream": stream, "reason": "revoked"}
    assert (await owner.receive_json_from())["payload"]["members"] == []
    await save(foo, bar="after revocation")
    assert (await owner.receive_json_from())["payload"]["bar"] == "after revocation"
    await sentinel.fire()


async def test_cleared_members_are_revoked(connect, bob, foo):
    """members.clear() revokes the members it removed."""
    ws = await connect(bob)
    await subscribe(ws, foo)
    await sync_to_async(foo.members.clear)()
    assert (await ws.receive_json_from())["reason"] == "revoked"


async def test_reverse_removal_is_revoked(connect, bob, foo):
    """Removing the Foo from bob's side of the relation (bob.shared_foos) revokes too."""
    ws = await connect(bob)
    await subscribe(ws, foo)
    await sync_to_async(bob.shared_foos.remove)(foo)
    assert (await ws.receive_json_from())["reason"] == "revoked"


async def test_owner_change_revokes_the_old_owner(connect, alice, carol, foo):
    """Giving the Foo to carol revokes alice (not a member); carol's view is unaffected."""
    ws = await connect(alice)
    await subscribe(ws, foo)
    await save(foo, owner=carol)
    assert (await ws.receive_json_from())["reason"] == "revoked"


async def test_member_stays_subscribed_when_someone_else_is_removed(connect, alice, bob, carol, foo):
    """A recheck aimed at other users leaves a still-visible subscription alone."""
    await sync_to_async(foo.members.add)(carol)
    ws = await connect(bob)
    await subscribe(ws, foo)
    await sync_to_async(foo.members.remove)(carol)
    assert (await ws.receive_json_from())["type"] == "UPDATE_FOO"


async def test_staff_flag_dropped_revokes(connect, make_user, foo):
    """A staff user who loses is_staff loses subscriptions to Foos they could only see as staff."""
    boss = await sync_to_async(make_user)("boss", is_staff=True)
    ws = await connect(boss)
    await subscribe(ws, foo)
    boss.is_staff = False
    await sync_to_async(boss.save)()
    assert (await ws.receive_json_from())["reason"] == "revoked"


async def test_deactivated_user_is_disconnected(connect, bob, foo):
    """Deactivating a user closes their sockets with 4403."""
    ws = await connect(bob)
    await subscribe(ws, foo)
    bob.is_active = False
    await sync_to_async(bob.save)()
    assert await ws.receive_output() == {"type": "websocket.close", "code": protocol.CLOSE_FORBIDDEN}


@pytest.mark.parametrize("flag", ["is_active", "is_staff"])
async def test_a_flag_saved_with_update_fields_rechecks_at_once(connect, make_user, foo, settings, flag):
    """``save(update_fields=[flag])`` rechecks like a full save: 4403 for is_active, revoked for is_staff, at once."""
    settings.REALTIME = {"SYNC_INTERVAL": 0}  # no watcher: only the recheck published by the save can act
    boss = await sync_to_async(make_user)("boss", is_staff=True)
    ws = await connect(boss)
    stream = (await subscribe(ws, foo))[-1]["stream"]
    setattr(boss, flag, False)
    await sync_to_async(boss.save)(update_fields=[flag])
    if flag == "is_active":
        assert await ws.receive_output() == {"type": "websocket.close", "code": protocol.CLOSE_FORBIDDEN}
    else:
        assert await ws.receive_json_from() == {"type": "unsubscribed", "stream": stream, "reason": "revoked"}


async def test_login_timestamp_does_not_recheck(connect, bob, foo):
    """Saving only last_login (every login) does not disturb subscriptions."""
    from django.utils import timezone

    ws = await connect(bob)
    subscribed = (await subscribe(ws, foo))[-1]
    bob.last_login = timezone.now()
    await sync_to_async(bob.save)(update_fields=["last_login"])
    await save(foo, bar="still subscribed")
    await receive_first(ws, stream=subscribed["stream"], seq=subscribed["seq"] + 1)


# --- inbox ---------------------------------------------------------------------


async def test_inbox_receives_share_notifications(connect, alice, carol, foo):
    """Sharing a Foo with carol puts a CREATE_NOTIFICATION into carol's subscribed inbox."""
    ws = await connect(carol)
    subscribed = (await subscribe(ws, None, request_id="inbox"))[-1]
    assert subscribed["stream"] == f"user.{encode_id(carol.pk)}"
    await sync_to_async(foo.members.add)(carol)
    frame = await ws.receive_json_from()
    assert frame["type"] == "CREATE_NOTIFICATION"
    assert frame["meta"]["stream"] == subscribed["stream"]
    assert frame["meta"]["object_type"] == "inbox"
    payload = frame["payload"]
    assert payload["title"] == "alice shared “first” with you"
    assert payload["client_action"] == f"/foo/{encode_id(foo.pk)}"
    assert (payload["object_type"], payload["object_id"], payload["read"]) == ("foo", encode_id(foo.pk), False)


async def test_inbox_of_another_user_is_unreachable(connect, alice, bob):
    """There is no way to name another user's inbox in subscribe."""
    ws = await connect(alice)
    await ws.send_json_to({"action": "subscribe", "object_type": "inbox", "id": encode_id(bob.pk)})
    assert (await ws.receive_json_from())["code"] == "invalid"
    await ws.send_json_to({"action": "subscribe", "object_type": "user", "id": encode_id(bob.pk)})
    assert (await ws.receive_json_from())["code"] == "invalid"


async def test_server_error_keeps_the_socket(connect, alice, foo, monkeypatch):
    """An unexpected exception while handling a message becomes a server_error frame, not a closed socket."""

    def broken(**kwargs):
        raise ZeroDivisionError

    monkeypatch.setattr(subscriptions, "stream_read", broken)
    ws = await connect(alice)
    await ws.send_json_to(foo_message(foo, request_id="boom"))
    assert await ws.receive_json_from() == {
        "type": "error",
        "request_id": "boom",
        "code": "server_error",
        "message": "Server error.",
    }
    await ws.send_json_to({"action": "ping"})
    assert (await receive_until(ws, "pong"))[-1]["type"] == "pong"


async def test_removal_committed_between_check_and_read_is_not_replayed(connect, bob, foo, settings, monkeypatch):
    """A removal that commits after subscribe's check but before its log read is neither replayed nor ignored
    (the three steps: check, read, check; with one snapshot for both, ``test_snapshots``)."""
    settings.REALTIME = {"SNAPSHOT_CHECKS": False}
    real_read = subscriptions.stream_read

    def remove_bob_then_read(**kwargs):
        foo.members.remove(bob)
        return real_read(**kwargs)

    ws = await connect(bob)
    sentinel = await Sentinel.on(ws, bob)
    monkeypatch.setattr(subscriptions, "stream_read", remove_bob_then_read)
    await ws.send_json_to(foo_message(foo, since=0, request_id="late"))
    error = await ws.receive_json_from()
    assert (error["type"], error["code"]) == ("error", "not_found")
    monkeypatch.setattr(subscriptions, "stream_read", real_read)
    await save(foo, bar="after bob left")
    await sentinel.fire()


async def test_removal_committed_right_after_the_join_is_seen_by_the_check(connect, bob, foo, monkeypatch):
    """Subscribe checks permission after joining the group, so a removal just after the join refuses it."""
    real_open = consumers.targets_open

    async def remove_bob_then_open(**kwargs):
        await sync_to_async(foo.members.remove)(bob)
        return await real_open(**kwargs)

    ws = await connect(bob)
    sentinel = await Sentinel.on(ws, bob)
    monkeypatch.setattr(consumers, "targets_open", remove_bob_then_open)
    await ws.send_json_to(foo_message(foo))
    assert (await ws.receive_json_from())["code"] == "not_found"
    monkeypatch.undo()
    await sentinel.fire()  # the removal's live event never reached bob


async def test_a_refused_resubscribe_ends_the_earlier_subscription(connect, bob, foo, monkeypatch):
    """If bob's resubscribe is refused (his revocation was lost), his old subscription stops delivering too."""
    ws = await connect(bob)
    sentinel = await Sentinel.on(ws, bob)
    await subscribe(ws, foo)
    monkeypatch.setattr(publish, "group_send", lambda group, message: False)  # the revoking event is lost
    await sync_to_async(foo.members.remove)(bob)
    monkeypatch.undo()
    await ws.send_json_to(foo_message(foo, request_id="again"))
    assert (await ws.receive_json_from())["code"] == "not_found"
    await save(foo, bar="not for bob")
    await sentinel.fire()


async def test_removal_committed_during_a_subscribe_without_since_is_refused(connect, bob, foo, settings, monkeypatch):
    """A removal committing inside the log read of a subscribe without ``since`` is seen by the check after the
    read (the three steps): the subscribe is refused, and nothing of foo reaches bob afterwards."""
    settings.REALTIME = {"SNAPSHOT_CHECKS": False}
    real_read = subscriptions.stream_read

    def remove_bob_then_read(**kwargs):
        foo.members.remove(bob)
        return real_read(**kwargs)

    ws = await connect(bob)
    sentinel = await Sentinel.on(ws, bob)
    monkeypatch.setattr(subscriptions, "stream_read", remove_bob_then_read)
    await ws.send_json_to(foo_message(foo))
    assert (await ws.receive_json_from())["code"] == "not_found"
    monkeypatch.undo()
    await save(foo, bar="after bob left")
    await sentinel.fire()


async def test_a_removal_inside_a_live_recheck_is_revoked_by_its_own_skipped_event(
    connect, alice, bob, carol, foo, settings, monkeypatch
):
    """A removal (and another visibility change) committing between a live recheck's permission query and its
    visibility read makes the socket skip past the removal's event, whose own recheck must still revoke bob."""
    settings.REALTIME = {"SYNC_INTERVAL": 0}  # only live events act
    real_readable = subscriptions.streams_readable
    armed = False

    def readable_then_remove_bob(**kwargs):
        nonlocal armed
        allowed = real_readable(**kwargs)
        if armed:
            armed = False
            foo.members.remove(bob)  # revokes bob, rechecking him
            foo.members.add(alice)  # a later visibility change that rechecks nobody
        return allowed

    ws = await connect(bob)
    sentinel = await Sentinel.on(ws, bob)
    stream = (await subscribe(ws, foo))[-1]["stream"]
    monkeypatch.setattr(subscriptions, "streams_readable", readable_then_remove_bob)
    armed = True
    await save(foo, owner=carol)  # rechecks everyone; bob is still a member at the permission query
    assert await ws.receive_json_from() == {"type": "unsubscribed", "stream": stream, "reason": "revoked"}
    monkeypatch.undo()
    await sentinel.fire()  # nothing of foo after the revocation


async def test_a_closed_socket_leaves_its_groups_and_the_watcher(connect, alice, foo, monkeypatch):
    """After a socket closes, its channel is in no group (each join was left) and the watcher forgets it."""
    layer = get_channel_layer()
    joined: set[tuple[str, str]] = set()
    real_add, real_discard = layer.group_add, layer.group_discard

    async def group_add(group, channel):
        joined.add((group, channel))
        await real_add(group, channel)

    async def group_discard(group, channel):
        joined.discard((group, channel))
        await real_discard(group, channel)

    monkeypatch.setattr(layer, "group_add", group_add)
    monkeypatch.setattr(layer, "group_discard", group_discard)
    ws = await connect(alice)
    await subscribe(ws, foo)
    await subscribe(ws, None)
    (channel,) = {c for group, c in joined if group == user_group(alice.pk)}
    assert len({group for group, c in joined if c == channel}) == 3, joined  # user, foo and inbox streams
    watcher = get_watcher(layer)
    assert channel in watcher.users.get(alice.pk, set())
    await ws.disconnect()
    assert {group for group, c in joined if c == channel} == set()
    assert all(channel not in channels for channels in watcher.subscribers.values())
    assert all(channel not in channels for channels in watcher.users.values())


async def test_a_closed_socket_with_a_live_list_leaves_the_type_group_and_the_watcher(connect, alice, monkeypatch):
    """After a socket holding a live list closes, it is in no group (the type's included) and gets no list syncs."""
    layer = get_channel_layer()
    joined: set[tuple[str, str]] = set()
    real_add, real_discard = layer.group_add, layer.group_discard

    async def group_add(group, channel):
        joined.add((group, channel))
        await real_add(group, channel)

    async def group_discard(group, channel):
        joined.discard((group, channel))
        await real_discard(group, channel)

    monkeypatch.setattr(layer, "group_add", group_add)
    monkeypatch.setattr(layer, "group_discard", group_discard)
    ws = await connect(alice)
    await ws.send_json_to({"action": "subscribe", "object_type": "foo", "list": {"search": "plan"}})
    assert (await receive_until(ws, "subscribed"))[-1]["list"] is True
    (channel,) = {c for group, c in joined if group == user_group(alice.pk)}
    assert {group for group, c in joined if c == channel} == {user_group(alice.pk), type_group("foo")}
    watcher = get_watcher(layer)
    assert channel in watcher.list_channels
    await ws.disconnect()
    assert {group for group, c in joined if c == channel} == set()
    assert channel not in watcher.list_channels
