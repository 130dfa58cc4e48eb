"""Publishing after commit (``realtime.publish``): a failing channel layer costs the live push, never the write."""

from __future__ import annotations

import json
import logging

import pytest
from asgiref.sync import sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

from api.models import Foo
from realtime import publish
from realtime.frames import event_frame
from realtime.ids import encode_id
from realtime.models import Notification
from realtime.registry import registry
from realtime.streams import group_name, type_group
from tests.servers import free_port

pytestmark = pytest.mark.django_db(transaction=True)


class BrokenLayer(InMemoryChannelLayer):
    """A channel layer whose ``group_send`` always fails."""

    async def group_send(self, group: str, message: dict) -> None:
        raise RuntimeError("channel layer exploded")


def patch_bar(client_for, user, foo: Foo, bar: str):
    return client_for(user).patch(f"/api/foo/{encode_id(foo.pk)}", {"bar": bar}, format="json")


def assert_write_survives(client_for, alice, foo: Foo, caplog: pytest.LogCaptureFixture) -> None:
    """The PATCH succeeds, the failure is logged, and the event is in the REST log."""
    with caplog.at_level(logging.WARNING, logger="realtime.publish"):
        response = patch_bar(client_for, alice, foo, "while down")
    assert response.status_code == 200, response.content
    assert response.json()["bar"] == "while down"
    stream = registry.stream_for(foo).name
    assert any(
        record.levelno == logging.WARNING and stream in record.getMessage() and "#3" in record.getMessage()
        for record in caplog.records
    ), caplog.text
    log = client_for(alice).get("/api/notifications/", {"stream": stream, "since": 2}).json()
    assert [(f["meta"]["seq"], f["payload"]["bar"]) for f in log["results"]] == [(3, "while down")]


def test_redis_layer_down_keeps_the_write_and_the_event(client_for, alice, foo, settings, caplog):
    """With the Redis layer unreachable, a REST write still returns 200 and its event stays recoverable."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [f"redis://127.0.0.1:{free_port()}/0"]},  # nothing listens there
        }
    }
    assert_write_survives(client_for, alice, foo, caplog)


def test_group_send_raising_keeps_the_write_and_the_event(client_for, alice, foo, settings, caplog):
    """A layer whose ``group_send`` raises: the write succeeds, the error is logged, the event is in the log."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "tests.realtime.test_publish.BrokenLayer"}}
    assert_write_survives(client_for, alice, foo, caplog)


def test_no_channel_layer_configured_keeps_writes_working(client_for, alice, foo, settings):
    """Without any channel layer, writes and the log work; there is simply no live push."""
    settings.CHANNEL_LAYERS = {}
    assert get_channel_layer() is None
    assert patch_bar(client_for, alice, foo, "no layer").status_code == 200
    assert Notification.objects.filter(stream__name=registry.stream_for(foo).name).count() == 3


def test_publish_happens_only_after_commit(alice, foo, monkeypatch):
    """Nothing is sent inside the transaction; on commit one message, for its one event, with the final state."""
    sent = []
    real = publish.group_send

    def spy(group: str, message: dict) -> bool:
        sent.append((group, message["seq"], json.loads(message["text"])["payload"]["name"]))
        return real(group, message)

    monkeypatch.setattr(publish, "group_send", spy)
    group = group_name(registry.stream_for(foo).name)
    with transaction.atomic():
        foo.name = "one"
        foo.save()
        foo.name = "two"
        foo.save()
        assert sent == []
    assert sent == [(group, 3, "two"), (type_group("foo"), 3, "two")]  # the stream's group, then the type's (lists)


async def test_published_message_carries_the_pre_encoded_frame(alice, foo):
    """A member of the stream's group receives the event frame, encoded once, with ``meta`` seq/epoch/stream."""
    layer = get_channel_layer()
    channel = await layer.new_channel()
    stream = registry.stream_for(foo)
    await layer.group_add(group_name(stream.name), channel)
    try:
        foo.bar = "published"
        await sync_to_async(foo.save)()
        message = await layer.receive(channel)
    finally:
        await layer.group_discard(group_name(stream.name), channel)
    stored = await Notification.objects.select_related("stream").aget(stream__name=stream.name, seq=3)
    assert (message["type"], message["stream"], message["seq"], message["final"], message["recheck"]) == (
        "realtime.event",
        stream.name,
        3,
        False,
        None,
    )
    frame = json.loads(message["text"])
    assert frame == event_frame(stored)
    assert (frame["meta"]["stream"], frame["meta"]["seq"], frame["meta"]["epoch"]) == (
        stream.name,
        3,
        stored.stream.epoch,
    )
    assert frame["payload"]["bar"] == "published"


@pytest.mark.redis
def test_publishing_from_sync_code_reuses_one_loop(monkeypatch):
    """Publishes from plain threads to Redis go through one long-lived loop, not a new loop per event."""
    import asyncio

    from realtime.publish import group_send, publisher_loop

    loops = []
    layer = get_channel_layer()
    real = layer.group_send

    async def recording(group, message):
        loops.append(asyncio.get_running_loop())
        return await real(group, message)

    monkeypatch.setattr(layer, "group_send", recording)
    for _ in range(3):
        assert group_send("rt.test-publisher", {"type": "realtime.event"})
    assert len(set(loops)) == 1
    assert loops[0] is publisher_loop._loop
