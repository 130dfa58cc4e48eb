"""Named events, ``<app>:<context>:<action>``, declared once per app and sent through the log.

Each app declares its events in its own ``events.py``::

    events = EventRegistry("api")
    FOO_CHANGED = events.define("foo:changed", action_type="UPDATE_FOO")

and app code emits custom ones with ``events.send(FOO_SHARED, users=[bob],
title=...)``: each target stream gets a logged notification, published after
commit exactly like a tracked model change.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction

from realtime import protocol
from realtime.streams import StreamRef, inbox_stream

if TYPE_CHECKING:
    from realtime.models import Notification

#: The three actions of a tracked model change, and their Redux verbs.
CREATED, CHANGED, DELETED = "created", "changed", "deleted"
VERBS = {CREATED: protocol.CREATE, CHANGED: protocol.UPDATE, DELETED: protocol.DELETE}

_NAME = re.compile(r"^[a-z][a-z0-9_]*:[a-z][a-z0-9_]*:[a-z][a-z0-9_]*$")
_ACTION = re.compile(r"^[A-Z][A-Z0-9_]*$")
_declared: dict[str, Event] = {}


@dataclass(frozen=True)
class Event:
    name: str
    action_type: str

    def __str__(self) -> str:
        return self.name


def get_event(name: str) -> Event | None:
    """Look up a declared event by its full name."""
    return _declared.get(name)


class EventRegistry:
    """The events of one app; ``define()`` prefixes names with the app label."""

    def __init__(self, app: str) -> None:
        self.app = app
        self.events: dict[str, Event] = {}

    def define(self, name: str, *, action_type: str) -> Event:
        full = f"{self.app}:{name}"
        if not _NAME.match(full):
            raise ImproperlyConfigured(f"Event name {full!r} must look like '<app>:<context>:<action>' (lower case).")
        if not _ACTION.match(action_type):
            raise ImproperlyConfigured(f"Action type {action_type!r} of {full} must be upper case, e.g. UPDATE_FOO.")
        existing = _declared.get(full)
        if existing is not None and existing.action_type != action_type:
            raise ImproperlyConfigured(f"Event {full} is declared twice with different action types.")
        event = Event(full, action_type)
        _declared[full] = self.events[full] = event
        return event

    def send(
        self,
        event: Event,
        *,
        objects: Iterable[models.Model] = (),
        users: Iterable[models.Model | int] = (),
        payload: dict[str, Any] | None = None,
        subject: models.Model | None = None,
        title: str = "",
        body: str = "",
        icon: str = "",
        client_action: str = "",
        push: bool = False,
    ) -> list[Notification]:
        """Append ``event`` to each live object's stream and each user's inbox, in one transaction.

        Returns the notifications in the order of ``objects`` then ``users``.

        ``title`` makes it a user-facing notification (an inbox entry);
        ``subject`` names the object it is about; ``push`` also queues it for
        the users' devices.
        """
        from realtime.log import notification_append
        from realtime.registry import registry

        if event.name not in self.events:
            raise ValueError(f"{event.name} is not an event of {self.app!r}; define it in {self.app}/events.py.")
        streams: list[StreamRef] = [registry.stream_for(obj) for obj in objects]
        streams += [inbox_stream(user if isinstance(user, int) else user.pk) for user in users]
        subject_type, subject_id = (None, None)
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
                    payload=payload or {},
                    object_type=subject_type or stream.object_type,
                    object_id=subject_id if subject_id is not None else stream.object_id,
                    title=title,
                    body=body,
                    icon=icon,
                    client_action=client_action,
                    push=push,
                )
        return [appended[index] for index in range(len(streams))]
