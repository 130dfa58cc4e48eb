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
from django.db import models

from realtime import protocol

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


@dataclass(frozen=True)
class Notice:
    """What a user-facing notification (an inbox entry) tells: a notification with a ``title`` is one.

    ``push`` also queues it for the user's devices (``realtime.push``).
    """

    title: str = ""
    body: str = ""
    icon: str = ""
    client_action: str = ""
    push: bool = False

    @property
    def is_user_facing(self) -> bool:
        return bool(self.title)


#: A notification that is only an event (no inbox entry, no push).
NO_NOTICE = Notice()


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
        the users' devices. (``realtime.sending.notifications_send`` does the work.)
        """
        from realtime.sending import notifications_send

        if event.name not in self.events:
            raise ValueError(f"{event.name} is not an event of {self.app!r}; define it in {self.app}/events.py.")
        return notifications_send(
            event=event,
            objects=objects,
            users=users,
            payload=payload or {},
            subject=subject,
            notice=Notice(title=title, body=body, icon=icon, client_action=client_action, push=push),
        )
