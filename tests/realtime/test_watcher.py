"""The stream watcher: a live message the channel layer loses is still delivered, permission-checked."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from api.models import Foo
from realtime import publish
from realtime.log import notification_append
from realtime.registry import registry
from realtime.watcher import StreamWatcher, stream_heads
from tests.realtime.conftest import subscribe

pytestmark = pytest.mark.django_db(transaction=True)


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
    """With the only publish of a change lost, the subscriber still gets the event, from the log."""
    settings.REALTIME = {"SYNC_INTERVAL": 0.1}
    ws = await connect(alice)
    subscribed = (await subscribe(ws, foo))[-1]
    foo.bar = "published into the void"
    await sync_to_async(foo.save)()
    assert len(lose_next_publish) == 1
    frame = await ws.receive_json_from(timeout=5)
    assert (frame["meta"]["seq"], frame["payload"]["bar"]) == (subscribed["seq"] + 1, "published into the void")
    assert await ws.receive_nothing(timeout=0.3), "delivered once"


async def test_without_the_watcher_the_loss_stays_lost(connect, alice, foo, settings, lose_next_publish):
    """Control: with SYNC_INTERVAL=0 the same lost publish is never delivered."""
    settings.REALTIME = {"SYNC_INTERVAL": 0}
    ws = await connect(alice)
    await subscribe(ws, foo)
    foo.bar = "lost for good"
    await sync_to_async(foo.save)()
    assert await ws.receive_nothing(timeout=0.6)


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
    stream = (await subscribe(ws, foo))[-1]["stream"]
    await sync_to_async(foo.members.remove)(bob)  # lost: carried bob's revocation
    foo.bar = "after bob left"
    await sync_to_async(foo.save)()
    assert await ws.receive_json_from() == {"type": "unsubscribed", "stream": stream, "reason": "revoked"}
    assert await ws.receive_nothing(timeout=0.3)


def test_stream_heads_reads_existing_streams_in_chunks(alice):
    """Heads come back for every existing stream however many names are asked, unknown names left out."""
    foos = Foo.objects.bulk_create([Foo(owner=alice, name=str(i)) for i in range(3)])
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
