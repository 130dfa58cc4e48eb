"""One database snapshot for a subscribe's permission check and its log read, where the database gives one.

Opening a subscription checks permission, reads the log and checks again
(``realtime.opening``): the second check is what a revocation that commits
between the first check and the read meets. On PostgreSQL the check and the
read can instead see one snapshot of the database, a ``REPEATABLE READ READ
ONLY`` transaction (whose snapshot its first query takes). A revocation
committed before the snapshot is seen by the check; one committed after it
is newer than every head read in it, so it reaches the groups the socket
joined before the snapshot, with its recheck, exactly as one committed after
the second check does on the three-step path. So the second check goes: in
a reconnect storm, about a tenth of the CPU each returning client costs.

``snapshot_database()`` says where that holds: ``REALTIME["SNAPSHOT_CHECKS"]``
is on, and the log (``Notification``, ``Stream``) and every live model are
read, by the project's database routers, from one PostgreSQL database
(with ``AUTOCOMMIT`` on). A view whose own ``get_queryset()`` reads from yet
another database (``.using()``, or a model its routers send elsewhere) is
outside the snapshot: such a project turns the setting off. A check that
fails in the snapshot is not answered from it: ``realtime.reads`` opens that
socket the three-step way instead (which raises the same error, if there is
one), and so does every socket of a batch whose snapshot fails (a check that
writes, which a read-only transaction refuses, or another database error,
which aborts it); a database that cannot be reached fails them with its
error, as a failed log read does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections, router, transaction

from realtime.conf import realtime_settings
from realtime.logcache import committed_reads
from realtime.models import Notification, Stream
from realtime.registry import registry


class SnapshotUnavailable(Exception):
    """This thread's connection is already inside a transaction, so no snapshot of its own can start."""


def snapshot_database() -> str | None:
    """The alias of the one PostgreSQL database the log and every live model are read from, or ``None`` (no
    snapshot: different databases, another vendor, or ``REALTIME["SNAPSHOT_CHECKS"]`` off)."""
    if not realtime_settings.SNAPSHOT_CHECKS:
        return None
    models = [Notification, Stream, *(live.model for live in registry.declarations())]
    aliases = {router.db_for_read(model) for model in models}
    if len(aliases) != 1:
        return None
    (alias,) = aliases
    connection = connections[alias]
    # With AUTOCOMMIT off every atomic block is a savepoint, whose isolation level cannot change.
    if connection.vendor != "postgresql" or not connection.settings_dict.get("AUTOCOMMIT", True):
        return None
    return alias


@contextmanager
def read_only_snapshot(*, using: str) -> Iterator[None]:
    """A ``REPEATABLE READ READ ONLY`` transaction on ``using``: every query in it sees one snapshot, and the log
    rows it reads may be kept by the log cache (they are committed: the transaction cannot append any).

    Raises ``SnapshotUnavailable`` inside another transaction (whose isolation level can no longer change).
    """
    connection = connections[using]
    if connection.in_atomic_block:
        raise SnapshotUnavailable(using)
    with transaction.atomic(using=using):
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        with committed_reads():
            yield
