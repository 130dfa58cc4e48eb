"""In-band recovery on the WebSocket: ``subscribe`` with ``since`` replays what was missed, then goes live.

Through the whole ASGI stack (``connect``) against the configured database
and channel layer. Changes are committed for real (``transaction=True``) so
that events are published after commit exactly as in production.
"""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from api.models import Foo
from realtime import subscriptions
from realtime.ids import encode_id
from realtime.log import notifications_prune
from realtime.models import Stream
from realtime.registry import registry
from realtime.streams import inbox_stream

from .conftest import Sentinel, subscribe

pytestmark = pytest.mark.django_db(transaction=True)


def rename(pk: int, *names: str) -> None:
    """Commit one tracked change per name, each in its own transaction (as separate requests would)."""
    foo = Foo.objects.get(pk=pk)
    for name in names:
        foo.name = name
        foo.save()


async def change(foo: Foo, count: int, prefix: str = "change") -> list[str]:
    names = [f"{prefix}-{i}" for i in range(count)]
    await sync_to_async(rename)(foo.pk, *names)
    return names


async def head(foo: Foo) -> Stream:
    return await Stream.objects.aget(name=registry.stream_for(foo).name)


async def next_event(communicator: WebsocketCommunicator) -> dict:
    frame = await communicator.receive_json_from(timeout=5)
    assert frame["type"] != "subscribed", frame
    return frame


def event_seqs(frames: list[dict]) -> list[int]:
    return [frame["meta"]["seq"] for frame in frames]


async def test_reconnect_with_since_replays_exactly_the_missed_events_then_goes_live(connect, alice, foo):
    """Disconnect, 50 changes, reconnect with since: those 50 in order, then ``subscribed``, then live."""
    first = await connect(alice)
    start = await head(foo)
    (subscribed,) = await subscribe(first, foo, since=start.seq, epoch=start.epoch)
    assert (subscribed["recovered"], subscribed["replayed"], subscribed["seq"]) == (True, 0, start.seq)
    await change(foo, 1, prefix="seen")
    last_applied = (await next_event(first))["meta"]["seq"]
    await first.disconnect()

    missed = await change(foo, 50)
    second = await connect(alice)
    frames = await subscribe(second, foo, since=last_applied, epoch=start.epoch, request_id="r1")
    *replayed, subscribed = frames
    assert event_seqs(replayed) == list(range(last_applied + 1, last_applied + 51))
    assert [frame["payload"]["name"] for frame in replayed] == missed
    assert {frame["type"] for frame in replayed} == {"UPDATE_FOO"}
    assert {frame["meta"]["epoch"] for frame in replayed} == {start.epoch}
    assert subscribed == {
        "type": "subscribed",
        "request_id": "r1",
        "stream": f"foo.{encode_id(foo.pk)}",
        "epoch": start.epoch,
        "seq": last_applied + 50,
        "recovered": True,
        "replayed": 50,
    }

    await change(foo, 1, prefix="live")
    live = await next_event(second)
    assert (live["meta"]["seq"], live["payload"]["name"]) == (last_applied + 51, "live-0")


async def test_since_without_epoch_also_recovers(connect, alice, foo):
    """``epoch`` is optional: a ``since`` alone replays the events after it."""
    start = await head(foo)
    await change(foo, 3)
    communicator = await connect(alice)
    *replayed, subscribed = await subscribe(communicator, foo, since=start.seq)
    assert event_seqs(replayed) == [start.seq + 1, start.seq + 2, start.seq + 3]
    assert (subscribed["recovered"], subscribed["replayed"]) == (True, 3)


async def test_subscribe_without_since_replays_nothing_and_reports_the_head(connect, alice, foo):
    """No position: ``recovered: false``, nothing replayed, ``seq``/``epoch`` of the head; then live."""
    start = await head(foo)
    communicator = await connect(alice)
    frames = await subscribe(communicator, foo)
    assert len(frames) == 1
    assert (frames[0]["recovered"], frames[0]["replayed"], frames[0]["seq"], frames[0]["epoch"]) == (
        False,
        0,
        start.seq,
        start.epoch,
    )
    await change(foo, 1)
    assert (await next_event(communicator))["meta"]["seq"] == start.seq + 1


async def test_change_committed_right_after_the_read_is_delivered_once(connect, alice, foo, settings, monkeypatch):
    """A change committing during the replay (after the log read) arrives live, exactly once, in order (the
    three steps; with one snapshot for the check and the read, ``test_snapshots``)."""
    settings.REALTIME = {"SNAPSHOT_CHECKS": False}
    start = await head(foo)
    await change(foo, 3)
    real_read = subscriptions.stream_read

    def read_then_commit(**kwargs):
        history = real_read(**kwargs)
        rename(foo.pk, "during-replay")
        return history

    monkeypatch.setattr(subscriptions, "stream_read", read_then_commit)
    communicator = await connect(alice)
    *replayed, subscribed = await subscribe(communicator, foo, since=start.seq)
    monkeypatch.setattr(subscriptions, "stream_read", real_read)
    assert event_seqs(replayed) == [start.seq + 1, start.seq + 2, start.seq + 3]
    assert (subscribed["seq"], subscribed["replayed"]) == (start.seq + 3, 3)

    during = await next_event(communicator)
    assert (during["meta"]["seq"], during["payload"]["name"]) == (start.seq + 4, "during-replay")
    await change(foo, 1, prefix="after")
    after = await next_event(communicator)
    assert (after["meta"]["seq"], after["payload"]["name"]) == (start.seq + 5, "after-0")


async def test_change_committed_between_join_and_read_is_delivered_once(connect, alice, foo, settings, monkeypatch):
    """A change committing after the group join but before the read is replayed, and its live copy dropped (the
    three steps)."""
    settings.REALTIME = {"SNAPSHOT_CHECKS": False}
    start = await head(foo)
    await change(foo, 2)
    real_read = subscriptions.stream_read

    def commit_then_read(**kwargs):
        rename(foo.pk, "before-read")
        return real_read(**kwargs)

    monkeypatch.setattr(subscriptions, "stream_read", commit_then_read)
    communicator = await connect(alice)
    *replayed, subscribed = await subscribe(communicator, foo, since=start.seq)
    monkeypatch.setattr(subscriptions, "stream_read", real_read)
    assert event_seqs(replayed) == [start.seq + 1, start.seq + 2, start.seq + 3]
    assert replayed[-1]["payload"]["name"] == "before-read"
    assert (subscribed["seq"], subscribed["replayed"]) == (start.seq + 3, 3)

    # The live copy of "before-read" was queued during the replay; the next frame must be the next change.
    await change(foo, 1, prefix="after")
    after = await next_event(communicator)
    assert (after["meta"]["seq"], after["payload"]["name"]) == (start.seq + 4, "after-0")


async def test_epoch_mismatch_replays_nothing(connect, alice, foo):
    """A ``since`` from another epoch: ``recovered: false``, nothing replayed, the current epoch reported."""
    start = await head(foo)
    communicator = await connect(alice)
    frames = await subscribe(communicator, foo, since=0, epoch="old-epoch")
    assert len(frames) == 1
    assert (frames[0]["recovered"], frames[0]["replayed"]) == (False, 0)
    assert (frames[0]["seq"], frames[0]["epoch"]) == (start.seq, start.epoch)
    assert "history" not in frames[0]
    await change(foo, 1)
    assert (await next_event(communicator))["meta"]["seq"] == start.seq + 1


async def test_pruned_history_replays_nothing(connect, alice, foo):
    """A ``since`` older than the retained history: ``recovered: false``, never a partial replay."""
    await change(foo, 5)
    await sync_to_async(notifications_prune)(older_than_days=None, keep_per_stream=2)
    start = await head(foo)
    communicator = await connect(alice)
    frames = await subscribe(communicator, foo, since=start.pruned_through - 1, epoch=start.epoch)
    assert len(frames) == 1
    assert (frames[0]["recovered"], frames[0]["replayed"], frames[0]["seq"]) == (False, 0, start.seq)
    # From the horizon itself the retained events are complete.
    *replayed, subscribed = await subscribe(communicator, foo, since=start.pruned_through, epoch=start.epoch)
    assert event_seqs(replayed) == [start.seq - 1, start.seq]
    assert subscribed["recovered"] is True


async def test_since_ahead_of_the_stream_replays_nothing(connect, alice, foo):
    """A ``since`` beyond the head is no position in this stream: ``recovered: false``."""
    start = await head(foo)
    communicator = await connect(alice)
    frames = await subscribe(communicator, foo, since=start.seq + 10, epoch=start.epoch)
    assert len(frames) == 1
    assert (frames[0]["recovered"], frames[0]["replayed"], frames[0]["seq"]) == (False, 0, start.seq)
    await change(foo, 1)
    assert (await next_event(communicator))["meta"]["seq"] == start.seq + 1


async def test_more_than_the_replay_limit_replays_nothing_and_points_to_rest(connect, alice, foo, settings):
    """Beyond ``REPLAY_LIMIT``: ``recovered: false`` with a ``history`` link that pages the same events."""
    settings.REALTIME = {"REPLAY_LIMIT": 5}
    start = await head(foo)
    await change(foo, 6)
    communicator = await connect(alice)
    frames = await subscribe(communicator, foo, since=start.seq, epoch=start.epoch)
    assert len(frames) == 1
    assert (frames[0]["recovered"], frames[0]["replayed"], frames[0]["seq"]) == (False, 0, start.seq + 6)
    stream = f"foo.{encode_id(foo.pk)}"
    assert frames[0]["history"] == f"/api/notifications/?stream={stream}&since={start.seq}&epoch={start.epoch}"

    # Exactly the limit is still replayed in-band.
    *replayed, subscribed = await subscribe(communicator, foo, since=start.seq + 1, epoch=start.epoch)
    assert event_seqs(replayed) == list(range(start.seq + 2, start.seq + 7))
    assert subscribed["recovered"] is True


async def test_history_link_pages_the_missed_events_over_rest(connect, alice, foo, settings, client_for):
    """Following the ``history`` hint over REST returns exactly the events that were not replayed."""
    settings.REALTIME = {"REPLAY_LIMIT": 2}
    start = await head(foo)
    await change(foo, 3)
    communicator = await connect(alice)
    (subscribed,) = await subscribe(communicator, foo, since=start.seq)
    response = await sync_to_async(client_for(alice).get)(subscribed["history"])
    assert response.status_code == 200
    assert event_seqs(response.json()["results"]) == [start.seq + 1, start.seq + 2, start.seq + 3]


async def test_replayed_frames_equal_the_live_frames(connect, alice, foo):
    """A replayed event is the same frame that was delivered live."""
    start = await head(foo)
    live_socket = await connect(alice)
    await subscribe(live_socket, foo, since=start.seq)
    await change(foo, 3)
    live = [await next_event(live_socket) for _ in range(3)]
    replay_socket = await connect(alice)
    *replayed, _ = await subscribe(replay_socket, foo, since=start.seq)
    assert replayed == live


async def test_resubscribing_on_the_same_socket_replays_from_the_new_since(connect, alice, foo):
    """Subscribing again to a subscribed stream replays from the new ``since`` and stays subscribed once."""
    start = await head(foo)
    communicator = await connect(alice)
    await subscribe(communicator, foo, since=start.seq)
    await change(foo, 2)
    assert event_seqs([await next_event(communicator), await next_event(communicator)]) == [
        start.seq + 1,
        start.seq + 2,
    ]
    *replayed, subscribed = await subscribe(communicator, foo, since=start.seq)
    assert event_seqs(replayed) == [start.seq + 1, start.seq + 2]
    assert subscribed["seq"] == start.seq + 2
    await change(foo, 1)
    assert (await next_event(communicator))["meta"]["seq"] == start.seq + 3
    await communicator.send_json_to({"action": "ping"})
    assert (await communicator.receive_json_from(timeout=5))["type"] == "pong"


async def test_member_may_replay_like_the_owner(connect, bob, foo):
    """Replay is allowed exactly where the REST detail view shows the object: a member replays too."""
    start = await head(foo)
    await change(foo, 2)
    communicator = await connect(bob)
    *replayed, subscribed = await subscribe(communicator, foo, since=start.seq)
    assert event_seqs(replayed) == [start.seq + 1, start.seq + 2]
    assert subscribed["recovered"] is True


async def assert_refused(communicator: WebsocketCommunicator, message: dict, code: str) -> None:
    """The subscribe gets exactly one error frame with ``code`` and no event; nothing live leaks later."""
    await communicator.send_json_to({"action": "subscribe", "request_id": "x", **message})
    frame = await communicator.receive_json_from(timeout=5)
    assert (frame["type"], frame["code"], frame["request_id"]) == ("error", code, "x"), frame


async def test_replay_of_another_users_stream_is_not_found(connect, carol, foo):
    """A stranger asking to replay someone's object gets ``not_found``, nothing replayed, nothing live."""
    communicator = await connect(carol)
    sentinel = await Sentinel.on(communicator, carol)
    await assert_refused(communicator, {"object_type": "foo", "id": encode_id(foo.pk), "since": 0}, "not_found")
    await change(foo, 1)
    await sentinel.fire()  # the change's event, published before it, never came


async def test_replay_of_a_deleted_or_unknown_object_is_not_found_alike(connect, alice, foo):
    """Deleted and never-existing objects answer the same ``not_found`` (no existence oracle)."""
    pk = foo.pk
    await sync_to_async(foo.delete)()
    communicator = await connect(alice)
    await assert_refused(communicator, {"object_type": "foo", "id": encode_id(pk), "since": 0}, "not_found")
    await assert_refused(communicator, {"object_type": "foo", "id": encode_id(pk + 1000), "since": 0}, "not_found")


async def test_another_users_inbox_cannot_be_replayed(connect, alice, bob, carol, foo):
    """Only your own inbox replays: naming another user's inbox is refused and replays nothing."""
    bob_inbox = inbox_stream(bob.pk)
    assert await Stream.objects.filter(name=bob_inbox.name).aexists()  # bob has notifications to steal
    communicator = await connect(carol)
    await assert_refused(communicator, {"object_type": "inbox", "id": encode_id(bob.pk), "since": 0}, "invalid")
    await assert_refused(communicator, {"object_type": "user", "id": encode_id(bob.pk), "since": 0}, "invalid")
    # carol's own inbox is empty: nothing of bob's comes back.
    (subscribed,) = await subscribe(communicator, since=0)
    assert (subscribed["stream"], subscribed["replayed"], subscribed["recovered"]) == (
        inbox_stream(carol.pk).name,
        0,
        True,
    )


async def test_own_inbox_replays_its_notifications(connect, alice, bob, carol):
    """The inbox recovers like any stream: the notifications since the position, in order."""
    first = await sync_to_async(Foo.objects.create)(owner=alice, name="a")
    second = await sync_to_async(Foo.objects.create)(owner=alice, name="b")
    await sync_to_async(first.members.add)(carol)
    await sync_to_async(second.members.add)(carol)
    communicator = await connect(carol)
    *replayed, subscribed = await subscribe(communicator, since=0)
    assert [frame["type"] for frame in replayed] == ["CREATE_NOTIFICATION", "CREATE_NOTIFICATION"]
    assert [frame["payload"]["object_id"] for frame in replayed] == [encode_id(first.pk), encode_id(second.pk)]
    assert event_seqs(replayed) == [1, 2]
    assert (subscribed["stream"], subscribed["seq"], subscribed["recovered"]) == (inbox_stream(carol.pk).name, 2, True)
