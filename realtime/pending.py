"""Events appended in the current transaction, waiting to be published after its commit.

Every appended event registers a ``PendingPublish`` with
``transaction.on_commit(..., robust=True)``. The pending events of one stream
in one transaction share a ``StreamTransaction``, which gathers what the
transaction's changes did to the stream's visibility:

* ``recheck``: the users whose access the transaction may have revoked (or
  ``"*"``, everyone). Every event of the stream that the transaction commits
  carries the whole union, so a subscriber re-checks before the first of
  them: a write that removes a member and changes a field never shows the
  field to the removed member, whichever order it made the two changes in.
* the pending events themselves, so that ``realtime.tracking`` can fold a
  second change of the same object into the event already appended (one
  event per stream per transaction, with the final state).

Which pending events are still alive is read from Django's own list of
commit callbacks: a rolled-back savepoint or transaction drops them exactly
as it drops their rows. A transaction is the outermost atomic block that is
not a ``TestCase``'s own, so tests see the same grouping as production.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction

from realtime import publish
from realtime.streams import group_name, type_group

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

    from realtime.models import Notification

#: ``recheck`` of a change that may have revoked anyone's access (an owner change, a visibility rule on a field).
EVERYONE = "*"


@dataclass
class StreamTransaction:
    """What one transaction did to one stream's visibility."""

    users: set[str] = field(default_factory=set)
    everyone: bool = False

    def add(self, recheck: list[Any] | str | None) -> None:
        if recheck == EVERYONE:
            self.everyone = True
        elif recheck:
            self.users.update(str(pk) for pk in recheck)

    @property
    def recheck(self) -> list[str] | str | None:
        """The channel-layer form: ``"*"``, a sorted list of user pks as strings, or ``None``."""
        if self.everyone:
            return EVERYONE
        return sorted(self.users) or None


class PendingPublish:
    """The on-commit callback of one appended event; also what a later change of the same object may revise."""

    def __init__(
        self,
        notification: Notification,
        *,
        changes: StreamTransaction,
        token: object,
        savepoints: frozenset[str],
        visibility: bool,
        action: str | None,
        listed: bool = False,
    ) -> None:
        self.__qualname__ = f"{type(self).__qualname__}({notification.stream.name}#{notification.seq})"
        self.notification = notification
        self.changes = changes
        self.token = token
        self.savepoints = savepoints
        #: Whether this event changed who may see the stream (a replay never crosses it).
        self.visibility = visibility
        #: ``created``/``changed``/``deleted`` for a tracked model change (revisable), ``None`` for a sent event.
        self.action = action
        self.listed = listed

    def __call__(self) -> None:
        message = publish.event_message(self.notification, recheck=self.changes.recheck, visibility=self.visibility)
        publish.group_send(group_name(message["stream"]), message)
        if self.listed:
            # An object's tracked change: live lists of the type hear of it too (realtime.lists).
            listed = {
                **message,
                "type": publish.LIST_MESSAGE,
                "object_type": self.notification.stream.object_type,
                "object_id": self.notification.stream.object_id,
            }
            publish.group_send(type_group(self.notification.stream.object_type), listed)


def _connection(using: str | None) -> BaseDatabaseWrapper:
    return connections[using or DEFAULT_DB_ALIAS]


def _token(connection: BaseDatabaseWrapper) -> object | None:
    """The outermost atomic block of the current transaction (skipping a TestCase's own blocks)."""
    for block in connection.atomic_blocks:
        if not getattr(block, "_from_testcase", False):
            return block
    return None


def _savepoints(connection: BaseDatabaseWrapper) -> frozenset[str]:
    return frozenset(sid for sid in connection.savepoint_ids if sid is not None)


def _index(connection: BaseDatabaseWrapper) -> dict[str, list[PendingPublish]]:
    """The pending publishes by stream, rebuilt whenever Django replaced its callback list (commit, rollback)."""
    hooks = connection.run_on_commit
    cached = getattr(connection, "_realtime_pending", None)
    if cached is not None and cached[0] is hooks:
        return cached[1]
    index: dict[str, list[PendingPublish]] = defaultdict(list)
    for _sids, func, _robust in hooks:
        if isinstance(func, PendingPublish):
            index[func.notification.stream.name].append(func)
    connection._realtime_pending = (hooks, index)
    return index


def pending_events(stream: str, *, using: str | None = None) -> list[PendingPublish]:
    """The events of ``stream`` appended in the current transaction and not rolled back, oldest first."""
    connection = _connection(using)
    token = _token(connection)
    if token is None:
        return []
    return [pending for pending in _index(connection).get(stream, ()) if pending.token is token]


def pending_register(
    notification: Notification,
    *,
    recheck: list[Any] | str | None,
    visibility: bool,
    action: str | None,
    listed: bool = False,
    using: str | None = None,
) -> PendingPublish:
    """Publish ``notification`` after the current transaction commits, sharing the stream's rechecks.

    ``listed``: also publish it to the object type's group, for live lists (an object's tracked change).
    """
    connection = _connection(using)
    earlier = pending_events(notification.stream.name, using=using)
    changes = earlier[-1].changes if earlier else StreamTransaction()
    changes.add(recheck)
    pending = PendingPublish(
        notification,
        changes=changes,
        token=_token(connection),
        savepoints=_savepoints(connection),
        visibility=visibility,
        action=action,
        listed=listed,
    )
    index = _index(connection)
    transaction.on_commit(pending, using=using, robust=True)
    index[notification.stream.name].append(pending)
    return pending


def pending_revisable(stream: str, *, object_id: str, using: str | None = None) -> PendingPublish | None:
    """The newest pending event of ``object_id`` in ``stream`` if a tracked change may fold into it, else ``None``.

    It must be a tracked model change (not an event an app sent about the
    object), the newest about that object in its stream in this transaction,
    and appended outside every savepoint opened since: rolling one of those
    back must not undo the revision alone. (An object's own stream holds only
    its events; a type's stream holds every object's.)
    """
    newest = next(
        (event for event in reversed(pending_events(stream, using=using)) if event.notification.object_id == object_id),
        None,
    )
    if newest is None or newest.action is None:
        return None
    if not _savepoints(_connection(using)) <= newest.savepoints:
        return None
    return newest
