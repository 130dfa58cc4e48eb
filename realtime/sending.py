"""Sending an app's own events: to live objects' streams and users' inboxes, in one transaction.

The service behind ``EventRegistry.send`` (``realtime.events``), above the
registry (which names the objects' streams) and the log (which appends), so
that ``events`` itself depends on neither.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models, transaction

from realtime.events import Event, Notice
from realtime.log import notification_append
from realtime.models import Notification
from realtime.registry import registry
from realtime.streams import StreamRef, inbox_stream


def notifications_send(
    *,
    event: Event,
    objects: Iterable[models.Model] = (),
    users: Iterable[models.Model | Any] = (),
    payload: dict[str, Any],
    subject: models.Model | None = None,
    notice: Notice,
) -> list[Notification]:
    """Append ``event`` to each live object's stream and each user's inbox; the notifications, in that order."""
    streams: list[StreamRef] = [registry.stream_for(obj) for obj in objects]
    streams += [inbox_stream(user.pk if isinstance(user, models.Model) else user) for user in users]
    subject_type, subject_id = None, None
    if subject is not None:
        live = registry.get_for_model(type(subject))
        subject_type, subject_id = live.object_type, live.object_key(subject.pk)
    # Each append locks its stream's counter row until commit: take them in one global order (by name)
    # so that two sends to the same streams in different orders cannot deadlock.
    appended: dict[int, Notification] = {}
    with transaction.atomic():
        for index in sorted(range(len(streams)), key=lambda i: streams[i].name):
            stream = streams[index]
            appended[index] = notification_append(
                stream=stream,
                event=event,
                payload=payload,
                object_type=subject_type or stream.object_type,
                object_id=subject_id if subject_id is not None else stream.object_id,
                notice=notice,
            )
    return [appended[index] for index in range(len(streams))]
