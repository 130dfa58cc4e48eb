"""The stream watcher: a live message the channel layer loses is still delivered, permission-checked."""

from __future__ import annotations

import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async
from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer
from django.db import DatabaseError, connection, connections

from api.models import Foo
from realtime import consumers, db, protocol, publish
from realtime import watcher as realtime_watcher
from realtime.log import notification_append, notifications_prune
from realtime.registry import registry
from realtime.watcher import StreamWatcher, get_watcher, stream_heads
from tests.realtime.conftest import Sentinel, receive_first, subscribe

pytestmark = pytest.mark.django_db(transaction=True)


async def save_bar(foo: Foo, value: str) -> None:
    foo.bar = value
    await sync_to_async(foo.save)()


@pytest.fixture
def lose_next_publish(monkeypatch):
    """Make the channel layer lose the next published event (as Redis pub/sub may)."""
    lost = []
    real_group_send = publish.group_send

    def group_send(group, message):
        if not lost:
            lost.append(message)
            return False
        return real_group_send(group, message)

    monkeypatch.setattr(publish, "group_send", group_send)
    return lost


async def test_a_lost_event_is_delivered_by_the_next_check(connect, alice, foo, settings, lose_next_publish):
    """With the only publish of a change lost, the subscriber still gets the event, from the log, once."""
    settings.REALTIME = {"SYNC_INTERVAL": 0.1}
    ws = await connect(alice)
    subscribed = (await subscribe(ws, foo))[-1]
    foo.bar = "published into the void"
    await sync_to_async(foo.save)()
    assert len(lose_next_publish) == 1
    frame = await ws.receive_json_from(timeout=5)
    assert (frame["meta"]["seq"], frame["payload"]["bar"]) == (subscribed["seq"] + 1, "published into the void")
    await save_bar(foo, "published")
    await receive_first(ws, stream=subscribed["stream"], seq=subscribed["seq"] + 2)  # not the lost one again


async def test_without_the_watcher_the_loss_stays_lost(connect, alice, foo, settings, lose_next_publish):
    """Control: with SYNC_INTERVAL=0 no watcher runs; the lost event shows up only when a later one reveals the gap."""
    settings.REALTIME = {"SYNC_INTERVAL": 0}
    ws = await connect(alice)
    sentinel = await Sentinel.on(ws, alice)
    subscribed = (await subscribe(ws, foo))[-1]
    await save_bar(foo, "lost for good")
    assert len(lose_next_publish) == 1
    assert get_watcher(get_channel_layer()).task is None
    await sentinel.fire()
    await save_bar(foo, "reveals the gap")
    filled = await receive_first(ws, stream=subscribed["stream"], seq=subscribed["seq"] + 1)
    assert filled["payload"]["bar"] == "lost for good"
    await receive_first(ws, stream=subscribed["stream"], seq=subscribed["seq"] + 2)


async def test_a_lost_revocation_still_revokes(connect, bob, foo, settings, lose_next_publish):
    """If the event that removed bob is lost, catching up re-checks access and revokes instead of sending it."""
    settings.REALTIME = {"SYNC_INTERVAL": 0.1}
    ws = await connect(bob)
    stream = (await subscribe(ws, foo))[-1]["stream"]
    await sync_to_async(foo.members.remove)(bob)
    assert await ws.receive_json_from(timeout=5) == {"type": "unsubscribed", "stream": stream, "reason": "revoked"}


async def test_a_gap_before_a_live_event_rechecks_access(connect, bob, foo, lose_next_publish):
    """A live event after a lost one fills the gap only after re-checking access."""
    ws = await connect(bob)
    sentinel = await Sentinel.on(ws, bob)
    stream = (await subscribe(ws, foo))[-1]["stream"]
    await sync_to_async(foo.members.remove)(bob)  # lost: carried bob's revocation
    assert len(lose_next_publish) == 1
    foo.bar = "after bob left"
    await sync_to_async(foo.save)()
    assert await ws.receive_json_from() == {"type": "unsubscribed", "stream": stream, "reason": "revoked"}
    await sentinel.fire()  # and nothing of foo's came after the revocation


async def test_a_gap_the_log_no_longer_covers_sends_only_the_newest_logged_event(
    connect, alice, foo, settings, monkeypatch
):
    """Filling a gap that retention cut into sends no partial history: the newest logged event, then the live one."""
    settings.REALTIME = {"SYNC_INTERVAL": 0}  # only the live event reveals the gap
    ws = await connect(alice)
    subscribed = (await subscribe(ws, foo))[-1]
    head = subscribed["seq"]
    monkeypatch.setattr(publish, "group_send", lambda group, message: False)
    for value in ("lost-1", "lost-2", "lost-3"):
        await save_bar(foo, value)
    monkeypatch.undo()
    await sync_to_async(notifications_prune)(older_than_days=None, keep_per_stream=2)  # head+1 goes
    await save_bar(foo, "live")
    frames = [await ws.receive_json_from(timeout=5) for _ in range(2)]
    assert [(frame["meta"]["seq"], frame["payload"]["bar"]) for frame in frames] == [
        (head + 3, "lost-3"),
        (head + 4, "live"),
    ]


def test_stream_heads_reads_existing_streams_in_chunks(alice):
    """Heads come back for every existing stream however many names are asked, unknown names left out."""
    foos = Foo._base_manager.bulk_create([Foo(owner=alice, name=str(i)) for i in range(3)])  # no events logged
    live = registry.get_for_model(Foo)
    for index, obj in enumerate(foos):
        for _ in range(index + 1):
            notification_append(stream=live.get_stream(obj.pk), event=live.get_event("changed"), payload={})
    names = [live.get_stream(obj.pk).name for obj in foos] + [f"foo.unknown{i}" for i in range(1200)]
    assert stream_heads(names=names) == {live.get_stream(obj.pk).name: i + 1 for i, obj in enumerate(foos)}


async def test_watcher_stops_when_nothing_is_watched(settings):
    """The checking task runs only while some stream is subscribed in the process."""
    settings.REALTIME = {"SYNC_INTERVAL": 60}
    watcher = StreamWatcher(get_channel_layer())
    watcher.watch("foo.a", "channel-1")
    watcher.watch("foo.a", "channel-2")
    task = watcher.task
    assert task is not None
    watcher.unwatch("foo.a", "channel-1")
    assert watcher.task is task
    watcher.unwatch("foo.a", "channel-2")
    assert watcher.task is None
    assert watcher.subscribers == {}


@pytest.fixture
def lose_all_publishes(monkeypatch):
    """A channel layer that loses every published event and recheck (as during a Redis outage)."""
    monkeypatch.setattr(publish, "group_send", lambda group, message: False)


async def test_a_lost_delete_still_ends_the_subscription_as_deleted(connect, bob, foo, settings, lose_all_publishes):
    """Catching up on a deleted object sends its DELETE (just the id) and ends with reason deleted, not revoked."""
    settings.REALTIME = {"SYNC_INTERVAL": 0.1}
    ws = await connect(bob)
    stream = (await subscribe(ws, foo))[-1]["stream"]
    await sync_to_async(foo.delete)()
    deleted = await ws.receive_json_from(timeout=5)
    assert (deleted["type"], deleted["payload"]) == ("DELETE_FOO", {"id": stream.split(".")[1]})
    assert await ws.receive_json_from() == {"type": "unsubscribed", "stream": stream, "reason": "deleted"}


async def test_a_delete_after_a_gap_is_still_delivered(connect, bob, foo, monkeypatch):
    """A live DELETE whose predecessor was lost is sent (and ends the subscription) without a permission check."""
    ws = await connect(bob)
    stream = (await subscribe(ws, foo))[-1]["stream"]
    real = publish.group_send
    monkeypatch.setattr(publish, "group_send", lambda group, message: False)
    await save_bar(foo, "lost")
    monkeypatch.setattr(publish, "group_send", real)
    await sync_to_async(foo.delete)()
    assert (await ws.receive_json_from())["type"] == "DELETE_FOO"
    assert await ws.receive_json_from() == {"type": "unsubscribed", "stream": stream, "reason": "deleted"}


async def test_a_lost_user_recheck_is_caught_by_the_watcher(connect, make_user, foo, settings, lose_all_publishes):
    """If the recheck published when a staff flag drops right after connecting is lost, the watcher revokes anyway."""
    settings.REALTIME = {"SYNC_INTERVAL": 0.5}
    boss = await sync_to_async(make_user)("boss", is_staff=True)
    ws = await connect(boss)
    stream = (await subscribe(ws, foo))[-1]["stream"]
    boss.is_staff = False  # before the watcher's first check
    await sync_to_async(boss.save)()
    frame = await ws.receive_json_from(timeout=2.5)  # a few checks
    assert frame == {"type": "unsubscribed", "stream": stream, "reason": "revoked"}


async def test_a_user_deactivated_right_after_connecting_is_closed_without_the_recheck(
    connect, bob, settings, lose_all_publishes
):
    """The watcher compares with the flags bob connected with: deactivated before its first check, still 4403."""
    settings.REALTIME = {"SYNC_INTERVAL": 0.5}
    ws = await connect(bob)
    bob.is_active = False  # its published recheck is lost
    await sync_to_async(bob.save)()
    assert await ws.receive_output(timeout=2.5) == {"type": "websocket.close", "code": protocol.CLOSE_FORBIDDEN}


def close_pool_connections(*, threads: int) -> None:
    """Close the connection each thread of ``realtime.db``'s pool holds (PostgreSQL cannot drop a used database)."""
    executor = db._pool()
    assert executor is not None
    everyone = threading.Barrier(threads)

    def close() -> None:
        connections.close_all()
        everyone.wait(timeout=5)  # so each thread runs one of these

    for future in [executor.submit(close) for _ in range(threads)]:
        future.result()


async def test_a_flag_dropped_before_the_watchers_first_read_is_compared_with_the_connect_flags(
    connect, make_user, foo, settings, monkeypatch, lose_all_publishes
):
    """Subscribes run on a thread pool while the watcher's flag read waits; boss's staff flag drops (its recheck
    lost) before that first read, which is compared with the flags boss connected with: boss is still revoked."""
    settings.REALTIME = {"SYNC_INTERVAL": 0.1, "DB_THREADS": 2}
    boss = await sync_to_async(make_user)("boss", is_staff=True)
    dropped = threading.Event()
    real_user_flags = realtime_watcher.user_flags

    def user_flags_after_the_drop(*, pks):
        assert dropped.wait(timeout=10), "the flag was never dropped"
        return real_user_flags(pks=pks)

    monkeypatch.setattr(realtime_watcher, "user_flags", user_flags_after_the_drop)
    ws = await connect(boss)
    stream = (await subscribe(ws, foo))[-1]["stream"]  # checked on the pool: boss is still staff

    def drop_staff() -> None:
        boss.is_staff = False
        boss.save()
        connection.close()  # this thread's own connection

    try:
        await asyncio.to_thread(drop_staff)
        dropped.set()
        assert await ws.receive_json_from(timeout=5) == {"type": "unsubscribed", "stream": stream, "reason": "revoked"}
    finally:
        dropped.set()
        await asyncio.to_thread(close_pool_connections, threads=2)


async def test_a_failing_catch_up_keeps_the_socket_and_is_retried(connect, alice, foo, settings, monkeypatch):
    """A database error while catching up is logged; the socket stays open and the next check delivers."""
    settings.REALTIME = {"SYNC_INTERVAL": 0.1}
    ws = await connect(alice)
    await subscribe(ws, foo)
    failures = []
    real_catch_up = consumers.subscription_catch_up

    def failing_once(**kwargs):
        if not failures:
            failures.append(1)
            raise DatabaseError("connection lost")
        return real_catch_up(**kwargs)

    monkeypatch.setattr(consumers, "subscription_catch_up", failing_once)
    monkeypatch.setattr(publish, "group_send", lambda group, message: False)
    await save_bar(foo, "delivered on retry")
    frame = await ws.receive_json_from(timeout=5)
    assert frame["payload"]["bar"] == "delivered on retry"
    assert failures == [1]
    await ws.send_json_to({"action": "ping"})
    assert (await ws.receive_json_from())["type"] == "pong"


class FlakyLayer:
    """An in-memory layer whose ``send`` fails for one channel until told otherwise."""

    def __init__(self, failing: str) -> None:
        self.failing = failing
        self.sent: list[tuple[str, dict]] = []

    async def send(self, channel: str, message: dict) -> None:
        if channel == self.failing:
            raise ChannelFull()
        self.sent.append((channel, message))


async def test_heads_are_reported_once_stable_and_until_every_send_succeeded(alice, monkeypatch):
    """A moving head is not reported; a stable one is, to every subscriber, and again while a send fails."""
    heads = {"foo.x": 1}
    monkeypatch.setattr("realtime.watcher.stream_heads", lambda *, names: dict(heads))
    layer = FlakyLayer(failing="c2")
    watcher = StreamWatcher(layer)
    watcher.subscribers["foo.x"].update({"c1", "c2"})
    await watcher.check_streams()
    assert layer.sent == [], "the first sight of a head is not yet stable"
    heads["foo.x"] = 2
    await watcher.check_streams()
    assert layer.sent == [], "still moving"
    await watcher.check_streams()
    assert [channel for channel, _ in layer.sent] == ["c1"]
    layer.failing = ""
    await watcher.check_streams()
    assert sorted(channel for channel, _ in layer.sent) == ["c1", "c1", "c2"], "retried until all got it"
    await watcher.check_streams()
    assert len(layer.sent) == 3, "reported once everyone had it"


async def test_user_flags_are_compared_with_those_they_connected_with(make_user, settings):
    """A user is rechecked when their flags differ from those at connect (passed in, or read at once), or when
    inactive by the time they are read; once, but again while a send fails."""
    settings.REALTIME = {"SYNC_INTERVAL": 60}  # checks are run by hand here
    users = {name: await sync_to_async(make_user)(name) for name in ("passed", "read", "late", "same")}

    async def deactivate(name: str) -> None:
        users[name].is_active = False
        await sync_to_async(users[name].save)()

    layer = FlakyLayer(failing="c-read")
    watcher = StreamWatcher(layer)
    watcher.watch_user(users["passed"].pk, "c-passed", flags=(True, True, False))  # staff then, not now
    watcher.watch_user(users["read"].pk, "c-read")
    watcher.watch_user(users["same"].pk, "c-same")
    await watcher.baseline_task
    await deactivate("read")
    await deactivate("late")  # before its first socket's flags are read
    watcher.watch_user(users["late"].pk, "c-late")
    await watcher.baseline_task
    await watcher.check_users()
    assert sorted(channel for channel, _ in layer.sent) == ["c-late", "c-passed"]
    layer.failing = ""
    await watcher.check_users()
    assert sorted(channel for channel, _ in layer.sent) == ["c-late", "c-passed", "c-read"], "retried until sent"
    await watcher.check_users()
    assert len(layer.sent) == 3, "each change rechecked once"
    assert {message["user"] for _, message in layer.sent} == {users[name].pk for name in ("passed", "read", "late")}
    for name, user in users.items():
        watcher.unwatch_user(user.pk, f"c-{name}")
    assert (watcher.task, watcher.baseline_task, watcher.flags) == (None, None, {})
