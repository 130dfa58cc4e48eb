"""Pushed messages are the notification's event frame, shrunk to fit provider limits when needed."""

from __future__ import annotations

import pytest

from realtime.frames import event_frame
from realtime.push.messages import encoded_size, message_fit, push_message
from tests.realtime.push.helpers import push

pytestmark = pytest.mark.django_db


def test_the_pushed_message_is_the_websocket_frame(alice):
    """A device gets exactly the CREATE_NOTIFICATION frame a WebSocket client gets."""
    [notification] = push(alice, title="T", body="B")
    message = push_message(notification)
    assert message == event_frame(notification)
    assert message["type"] == "CREATE_NOTIFICATION"
    assert message["payload"]["title"] == "T"


def test_small_messages_are_untouched_and_large_ones_fit(alice):
    """Within the limit nothing changes; over it, data goes, the body shortens and the frame says so."""
    [notification] = push(alice, title="T", body="x" * 5000, payload={"big": "y" * 5000})
    message = push_message(notification)
    assert message_fit(message, limit=100_000) is message
    fitted = message_fit(message, limit=3000)
    assert encoded_size(fitted) <= 3000
    assert fitted["truncated"] is True
    assert fitted["payload"]["data"] == {}
    assert fitted["payload"]["title"] == "T"
    assert fitted["meta"] == message["meta"]
