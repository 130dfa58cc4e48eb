"""Opening a subscribe's targets, after the consumer joined their groups: check, read, check again.

Three steps, each on the database threads (``realtime.db.run_db``), each
for all entries of the subscribe at once:

1. ``subscriptions_refused``: the permission check of the entries with
   ``since`` (skipped when none has one), so no log is read for a stream the
   user may not see;
2. the log read of the entries that passed, in a batch with the reads of
   other sockets opening at the same time (``realtime.reads``);
3. ``open_targets``: the check again (a revoking event committed before the
   read must not reach the user), and the live lists.

The order is what makes a subscribe lossless and leak-free (see
``realtime.subscriptions``); every step starts after the one before it
returned.

Where the database gives the check and the read one snapshot
(``realtime.snapshots.snapshot_database``), steps 1 and 2 run in it, in a
batch with other sockets opening at the same time
(``realtime.reads.open_checked``), and step 3 is left with the live lists
only (and skipped when there are none): what the check saw is what the read
saw, so nothing committed between them can reach the user unchecked.
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import APIException

from realtime.db import run_db
from realtime.lists import ListTarget
from realtime.log import StreamHistory
from realtime.reads import open_checked, read_logs
from realtime.snapshots import snapshot_database
from realtime.subscriptions import Opened, Opening, Target, User, open_targets, subscriptions_refused


async def targets_open(
    *, scope: dict[str, Any], user: User, auth: Any, targets: list[Any], limit: int, list_limit: int
) -> list[Any]:
    """Per target, in order: ``Opened`` (its history), ``ListOpened``, or the error to answer."""
    streams: list[Target] = [target for target in targets if not isinstance(target, ListTarget)]
    using = snapshot_database() if streams else None
    if using is not None:
        opening = Opening(scope=scope, user=user, auth=auth, targets=streams)
        checked = await open_checked(opening=opening, limit=limit, using=using)
        if checked is not None:
            if len(streams) == len(targets):
                return [
                    answer if isinstance(answer, APIException) else Opened(target, answer)
                    for target, answer in zip(streams, checked, strict=True)
                ]
            return await run_db(
                open_targets,
                scope=scope,
                user=user,
                auth=auth,
                targets=targets,
                histories=checked,
                list_limit=list_limit,
                checked=True,
            )
    refused: list[APIException | None] = [None] * len(streams)
    if any(target.since is not None for target in streams):
        refused = await run_db(subscriptions_refused, scope=scope, user=user, auth=auth, targets=streams)
    reading = [target for target, error in zip(streams, refused, strict=True) if error is None]
    read: list[StreamHistory] = []
    if reading:
        read = await read_logs(reads=[(t.stream, t.since, t.epoch) for t in reading], limit=limit)
    answers = iter(read)
    histories = [error if error is not None else next(answers) for error in refused]
    return await run_db(
        open_targets, scope=scope, user=user, auth=auth, targets=targets, histories=histories, list_limit=list_limit
    )
