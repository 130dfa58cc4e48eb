"""Event frames: a logged ``Notification`` as the Redux action clients receive.

One function builds the frame for live delivery, in-band replay and the REST
log alike, so a replayed event is the same JSON value as the frame that was
(or would have been) sent live. (Not always the same bytes: PostgreSQL's
jsonb may reorder the keys of a stored payload.)
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from realtime.ids import encode_id
from realtime.models import Notification


def timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def subject_public_id(notification: Notification) -> str | None:
    """The public id of the object a notification is about (``None`` when it names none)."""
    from realtime.registry import registry

    if notification.object_id is None or notification.object_id == "":
        return None
    live = registry.get(notification.object_type)
    if live is None:
        return notification.object_id
    return live.get_public_id(live.pk_of(notification.object_id))


def notification_payload(notification: Notification) -> dict[str, Any]:
    """The payload: the stored serializer output, or the inbox entry for user-facing notifications."""
    if not notification.is_user_facing:
        return notification.payload
    return {
        "id": encode_id(notification.pk),
        "event": notification.event,
        "title": notification.title,
        "body": notification.body,
        "icon": notification.icon,
        "client_action": notification.client_action,
        "object_type": notification.object_type,
        "object_id": subject_public_id(notification),
        "data": notification.payload,
        "read": notification.read_at is not None,
        "created_at": timestamp(notification.created_at),
    }


def event_frame(notification: Notification) -> dict[str, Any]:
    """``{"type", "payload", "meta"}`` for a notification whose ``stream`` is loaded."""
    stream = notification.stream
    return {
        "type": notification.action_type,
        "payload": notification_payload(notification),
        "meta": {
            "stream": stream.name,
            "epoch": stream.epoch,
            "seq": notification.seq,
            "event": notification.event,
            "object_type": stream.object_type,
            "id": stream.name.split(".", 1)[1] if "." in stream.name else subject_public_id(notification),
            "at": timestamp(notification.created_at),
        },
    }


def event_text(notification: Notification) -> str:
    """``event_frame(notification)`` encoded, once per instance: a log read shared by many sockets
    (``realtime.reads``) is encoded once, not once per socket."""
    text = notification.__dict__.get("_realtime_event_text")
    if text is None:
        from realtime import protocol

        text = protocol.encode(event_frame(notification))
        notification.__dict__["_realtime_event_text"] = text
    return text


def events_frames(texts: list[str]) -> list[str]:
    """Encoded event frames packed into ``events`` frames of at most ``EVENTS_PER_FRAME`` events and about
    ``EVENTS_FRAME_BYTES`` (an event larger than that goes alone), without encoding any event again."""
    from realtime import protocol

    frames: list[str] = []
    batch: list[str] = []
    size = 0
    for text in texts:
        if batch and (len(batch) >= protocol.EVENTS_PER_FRAME or size + len(text) > protocol.EVENTS_FRAME_BYTES):
            frames.append(_events_frame(batch))
            batch, size = [], 0
        batch.append(text)
        size += len(text) + 1
    if batch:
        frames.append(_events_frame(batch))
    return frames


def _events_frame(texts: list[str]) -> str:
    return '{"type":"events","events":[' + ",".join(texts) + "]}"
