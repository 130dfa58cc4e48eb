"""Many subscriptions in one message, and replays packed into ``events`` frames (issue 14's subscribe path)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework.authtoken.models import Token

from api.models import Foo
from project.asgi import application
from realtime import protocol, subscriptions
from realtime.frames import events_frames
from realtime.ids import encode_id
from realtime.snapshots import snapshot_database
from tests.realtime.conftest import receive_until

pytestmark = pytest.mark.django_db(transaction=True)


def entry(foo: Foo, **fields: Any) -> dict[str, Any]:
    return {"object_type": "foo", "id": encode_id(foo.pk), **fields}


async def rename(foo: Foo, *names: str) -> None:
    for name in names:
        foo.name = name
        await sync_to_async(foo.save)()


async def test_one_message_subscribes_many_and_answers_in_order(connect, alice, carol, foo):
    """Valid, replaying, forbidden and malformed entries: one ``subscribed`` with a result per entry, in order."""
    own = await sync_to_async(Foo.objects.create)(owner=alice, name="own")
    await rename(own, "own-2", "own-3")  # seqs 2, 3
    hidden = await sync_to_async(Foo.objects.create)(owner=carol, name="hidden")
    ws = await connect(alice)
    await ws.send_json_to(
        {
            "action": "subscribe",
            "request_id": "batch",
            "streams": [
                entry(foo),
                entry(own, since=1),
                entry(hidden, since=0),
                {"object_type": "foo"},
                {"object_type": "inbox"},
            ],
        }
    )
    *replayed, reply = await receive_until(ws, "subscribed")
    assert [(f["type"], f["meta"]["seq"]) for f in replayed] == [("UPDATE_FOO", 2), ("UPDATE_FOO", 3)]
    assert reply["request_id"] == "batch"
    first, second, forbidden, malformed, inbox = reply["results"]
    assert (first["stream"], first["recovered"], first["seq"]) == (f"foo.{encode_id(foo.pk)}", False, 2)
    assert (second["stream"], second["recovered"], second["replayed"], second["seq"]) == (
        f"foo.{encode_id(own.pk)}",
        True,
        2,
        3,
    )
    assert forbidden == {"error": {"code": "not_found", "message": "No such object, or you may not see it."}}
    assert malformed["error"]["code"] == "invalid"
    assert inbox["stream"].startswith("user.")
    await rename(own, "live")
    assert (await ws.receive_json_from())["payload"]["name"] == "live"


async def test_many_objects_cost_a_fixed_number_of_queries(connect, alice, sql_statements):
    """Subscribing 1 or 20 Foos with ``since`` costs the same number of SQL statements (per type, not per entry)."""
    foos = [await sync_to_async(Foo.objects.create)(owner=alice, name=f"f{i}") for i in range(20)]
    ws = await connect(alice)

    async def statements_for(objects: list[Foo]) -> list[str]:
        sql_statements.executed.clear()
        sql_statements.start()
        await ws.send_json_to({"action": "subscribe", "streams": [entry(obj, since=0) for obj in objects]})
        await receive_until(ws, "subscribed")
        return [str(sql) for _, sql in sql_statements.stop()]

    one, twenty = await statements_for(foos[:1]), await statements_for(foos[1:])
    # Three steps: a permission check, the heads, the rows, the check again. In one snapshot (PostgreSQL): the
    # snapshot's SET TRANSACTION, the check, the heads, the rows.
    assert len(twenty) == len(one) == 4
    snapshots = 1 if snapshot_database() else 0
    assert [sum("SET TRANSACTION" in sql for sql in run) for run in (one, twenty)] == [snapshots, snapshots]


async def test_sockets_resubscribing_together_share_log_reads(connect, alice, foo, monkeypatch):
    """Eight sockets resubscribe with ``since`` at once (a restart): each gets its own full replay, from fewer
    log reads than sockets (``realtime.reads``)."""
    await rename(foo, "r1", "r2")
    batches: list[int] = []
    real_read = subscriptions.subscriptions_read

    def counted(**kwargs):
        batches.append(len(kwargs["reads"]))
        return real_read(**kwargs)

    monkeypatch.setattr(subscriptions, "subscriptions_read", counted)  # every shared read, snapshot or not
    sockets = [await connect(alice) for _ in range(8)]
    resubscribe = {"action": "subscribe", "streams": [entry(foo, since=1)]}
    await asyncio.gather(*(ws.send_json_to(resubscribe) for ws in sockets))
    for ws in sockets:
        *replayed, reply = await receive_until(ws, "subscribed")
        (result,) = reply["results"]
        assert [f["meta"]["seq"] for f in replayed] == list(range(2, result["seq"] + 1))
        assert (result["recovered"], result["replayed"]) == (True, len(replayed))
        assert [f["payload"]["name"] for f in replayed][-2:] == ["r1", "r2"]
    assert 1 <= len(batches) < len(sockets)


async def test_too_many_entries_is_invalid_and_capacity_is_per_entry(connect, alice, settings):
    """More entries than MAX_SUBSCRIPTIONS: invalid; entries beyond the cap: too_many_subscriptions each."""
    settings.REALTIME = {"MAX_SUBSCRIPTIONS": 2}
    foos = [await sync_to_async(Foo.objects.create)(owner=alice, name=f"c{i}") for i in range(3)]
    ws = await connect(alice)
    await ws.send_json_to({"action": "subscribe", "streams": [entry(obj) for obj in foos]})
    assert (await ws.receive_json_from())["code"] == "invalid"
    await ws.send_json_to({"action": "subscribe", "streams": [entry(foos[0])]})
    await receive_until(ws, "subscribed")
    await ws.send_json_to({"action": "subscribe", "streams": [entry(foos[1]), entry(foos[2])]})
    (reply,) = await receive_until(ws, "subscribed")
    assert [("error" in result) for result in reply["results"]] == [False, True]
    assert reply["results"][1]["error"]["code"] == "too_many_subscriptions"


async def test_a_failed_entry_ends_an_earlier_subscription_to_its_stream(connect, bob, foo):
    """As with a single subscribe: a refused entry leaves no subscription to its stream behind."""
    ws = await connect(bob)
    await ws.send_json_to({"action": "subscribe", "streams": [entry(foo)]})
    await receive_until(ws, "subscribed")
    await sync_to_async(foo.members.remove)(bob)
    await receive_until(ws, "unsubscribed")
    await sync_to_async(foo.members.add)(bob)
    await ws.send_json_to({"action": "subscribe", "streams": [entry(foo, since=0)]})
    (reply,) = await receive_until(ws, "subscribed")
    assert reply["results"][0]["recovered"] is False


async def test_clients_asking_for_realtime_v2_get_replays_as_events_frames(alice, foo):
    """With the ``realtime.v2`` subprotocol, a replay comes as ``events`` frames; the socket confirms it."""
    await rename(foo, *(f"r{i}" for i in range(3)))  # seqs 3..5
    token, _ = await sync_to_async(Token.objects.get_or_create)(user=alice)
    headers = [(b"host", b"localhost"), (b"origin", b"http://localhost"), (b"authorization", f"Token {token}".encode())]
    ws = WebsocketCommunicator(application, "/ws/notifications/", headers=headers, subprotocols=["realtime.v2"])
    connected, subprotocol = await ws.connect()
    assert (connected, subprotocol) == (True, "realtime.v2")
    await ws.send_json_to({"action": "subscribe", "object_type": "foo", "id": encode_id(foo.pk), "since": 1})
    packed, subscribed = await receive_until(ws, "subscribed")
    assert packed["type"] == protocol.EVENTS
    assert [event["meta"]["seq"] for event in packed["events"]] == [2, 3, 4, 5]
    assert subscribed["replayed"] == 4
    await ws.disconnect()


def test_events_frames_split_by_count_and_size():
    """``events_frames`` packs event texts into frames of at most EVENTS_PER_FRAME events and about the byte cap."""
    texts = [json.dumps({"type": "X", "payload": {"n": n}, "meta": {"seq": n}}) for n in range(1, 1201)]
    frames = [json.loads(frame) for frame in events_frames(texts)]
    assert [len(frame["events"]) for frame in frames] == [500, 500, 200]
    assert [e["meta"]["seq"] for frame in frames for e in frame["events"]] == list(range(1, 1201))
    big = ["x" * 200_000, "y" * 200_000]
    assert len(events_frames([json.dumps(t) for t in big])) == 2
