"""The notification log: append in the caller's transaction, read back for recovery.

``notification_append`` takes the stream's counter row lock with one
``INSERT ... ON CONFLICT DO UPDATE SET seq = seq + 1 RETURNING`` statement,
so within a stream seqs are gap-free and in commit order, even with
concurrent writers on PostgreSQL: a second writer waits on the row until the
first commits. On PostgreSQL that upsert and the log row's INSERT are one
statement (a data-modifying CTE): one round trip per event instead of two.
The event is published only after commit, so a rollback leaves no row and
sends nothing.

``stream_read`` answers "what happened after ``since``?" for in-band replay
and the REST endpoint alike: either every missed event, or ``recovered =
False`` (other epoch, pruned history, beyond the limit), never a partial
replay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Max
from django.utils import timezone

from realtime.events import Event
from realtime.models import Notification, Stream, new_epoch
from realtime.publish import publish_on_commit
from realtime.signals import notification_appended
from realtime.streams import StreamRef

_UPSERT_COUNTER = """
    INSERT INTO {table} (name, object_type, object_id, epoch, seq, pruned_through, created_at)
    VALUES (%s, %s, %s, %s, 1, 0, %s)
    ON CONFLICT (name) DO UPDATE SET seq = {table}.seq + 1
    RETURNING id, seq, epoch
"""


def _counter_params(stream: StreamRef) -> list[Any]:
    return [stream.name, stream.object_type, stream.object_id, new_epoch(), timezone.now()]


def _next_seq(stream: StreamRef) -> tuple[int, int, str]:
    """Lock the stream's counter row (creating it on first use); return (id, seq, epoch)."""
    sql = _UPSERT_COUNTER.format(table=connection.ops.quote_name(Stream._meta.db_table))
    with connection.cursor() as cursor:
        cursor.execute(sql, _counter_params(stream))
        return cursor.fetchone()


def _insert(stream: StreamRef, notification: Notification) -> str:
    """Take the next seq and insert ``notification`` with it; fills in its pk, stream_id and seq, returns the epoch."""
    if connection.vendor == "sqlite":
        notification.stream_id, notification.seq, epoch = _next_seq(stream)
        notification.save(force_insert=True)
        return epoch
    if connection.vendor != "postgresql":
        raise NotImplementedError("The notification log supports PostgreSQL and SQLite.")
    quote = connection.ops.quote_name
    fields = [f for f in Notification._meta.concrete_fields if not f.primary_key]
    counter_columns = {"stream_id": "s.id", "seq": "s.seq"}
    values, params = [], []
    for model_field in fields:
        if model_field.attname in counter_columns:
            values.append(counter_columns[model_field.attname])
        else:
            values.append("%s")
            params.append(model_field.get_db_prep_save(model_field.pre_save(notification, add=True), connection))
    sql = (
        f"WITH s AS ({_UPSERT_COUNTER.format(table=quote(Stream._meta.db_table))}) "
        f"INSERT INTO {quote(Notification._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"SELECT {', '.join(values)} FROM s RETURNING {quote(Notification._meta.pk.column)}, stream_id, seq, "
        f"(SELECT epoch FROM s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, _counter_params(stream) + params)
        notification.pk, notification.stream_id, notification.seq, epoch = cursor.fetchone()
    notification._state.adding = False
    return epoch


def notification_append(
    *,
    stream: StreamRef,
    event: Event,
    payload: dict[str, Any],
    object_type: str = "",
    object_id: int | None = None,
    title: str = "",
    body: str = "",
    icon: str = "",
    client_action: str = "",
    push: bool = False,
    final: bool = False,
    recheck: list[int] | str | None = None,
) -> Notification:
    """Append one event to ``stream`` in the current transaction and publish it after commit.

    ``final`` marks the last event of a stream (its object was deleted):
    subscribers are told, then unsubscribed. ``recheck`` names the users
    (or ``"*"`` for all) whose visibility of the object may have changed;
    their subscriptions re-run the permission check before delivery.
    """
    with transaction.atomic(savepoint=False):
        notification = Notification(
            event=event.name,
            action_type=event.action_type,
            object_type=object_type,
            object_id=object_id,
            payload=payload,
            title=title,
            body=body,
            icon=icon,
            client_action=client_action,
            push=push,
            final=final,
        )
        epoch = _insert(stream, notification)
        notification.stream = Stream(
            id=notification.stream_id,
            name=stream.name,
            object_type=stream.object_type,
            object_id=stream.object_id,
            epoch=epoch,
            seq=notification.seq,
        )
        notification_appended.send(sender=Notification, notification=notification)
        publish_on_commit(notification, recheck=recheck)
    return notification


@dataclass
class StreamHistory:
    """The answer to "what happened on ``stream`` after ``since``?"."""

    stream: StreamRef
    epoch: str | None
    seq: int
    recovered: bool
    notifications: list[Notification] = field(default_factory=list)
    #: Why recovery failed: "epoch", "pruned", "ahead" or "limit"; None when recovered or no ``since``.
    reason: str | None = None


def stream_head(stream: StreamRef) -> Stream | None:
    return Stream.objects.filter(name=stream.name).first()


#: How often ``stream_read`` reads again when retention or a reset deleted rows between its two queries.
_READ_ATTEMPTS = 3


def stream_read(
    *, stream: StreamRef, since: int | None, epoch: str | None = None, limit: int, allow_partial: bool = False
) -> StreamHistory:
    """Read the events of ``stream`` after ``since`` (at most ``limit``), oldest first.

    Without ``since`` nothing is read and ``recovered`` is False: the caller
    has no position and loads the object itself. ``allow_partial`` (REST
    paging) returns the first ``limit`` events instead of refusing when more
    are missing.
    """
    for _attempt in range(_READ_ATTEMPTS):
        history = _stream_read_once(stream=stream, since=since, epoch=epoch, limit=limit, allow_partial=allow_partial)
        if history is not None:
            return history
    # Pruned or reset again and again while we read: refuse rather than replay a hole.
    head = stream_head(stream)
    return StreamHistory(
        stream, head.epoch if head else None, head.seq if head else 0, recovered=False, reason="pruned"
    )


def _stream_read_once(
    *, stream: StreamRef, since: int | None, epoch: str | None, limit: int, allow_partial: bool
) -> StreamHistory | None:
    """One read of head and rows; ``None`` when the rows no longer match the head (history changed meanwhile)."""
    head = stream_head(stream)
    seq = head.seq if head else 0
    current_epoch = head.epoch if head else None
    pruned_through = head.pruned_through if head else 0

    def refuse(reason: str | None) -> StreamHistory:
        return StreamHistory(stream, current_epoch, seq, recovered=False, reason=reason)

    if since is None:
        return refuse(None)
    if epoch is not None and head is not None and epoch != current_epoch:
        return refuse("epoch")
    if epoch is not None and head is None:
        return refuse("epoch")
    if since > seq:
        return refuse("ahead")
    if since < pruned_through:
        return refuse("pruned")
    if seq - since > limit and not allow_partial:
        return refuse("limit")
    rows = list(Notification.objects.filter(stream_id=head.pk, seq__gt=since).order_by("seq")[:limit] if head else [])
    # Every seq up to the head we read had committed before we read it, so the rows must run since+1,
    # since+2, ... at least that far (or to the limit). A hole means retention or a reset committed between
    # the two queries; reading again sees its raised horizon (or new epoch) and refuses.
    if not _unbroken(rows, since=since, at_least=min(seq - since, limit)):
        return None
    for row in rows:
        row.stream = head
    return StreamHistory(stream, current_epoch, seq, recovered=True, notifications=rows)


def _unbroken(rows: list[Notification], *, since: int, at_least: int) -> bool:
    """Whether ``rows`` are seqs since+1, since+2, ... without a hole, and at least ``at_least`` of them."""
    return len(rows) >= at_least and all(row.seq == since + 1 + i for i, row in enumerate(rows))


def stream_range(*, stream: StreamRef, after: int, through: int) -> list[Notification]:
    """The stored events with ``after < seq <= through``, oldest first (to fill a gap)."""
    rows = list(
        Notification.objects.select_related("stream")
        .filter(stream__name=stream.name, seq__gt=after, seq__lte=through)
        .order_by("seq")
    )
    return rows


def stream_reset(*, stream: StreamRef) -> Stream | None:
    """Forget a stream's history: delete its events and change its epoch.

    ``seq`` never goes back, so a client's old position is below the new
    horizon even if it forgets to send its epoch.
    """
    with transaction.atomic():
        head = Stream.objects.select_for_update().filter(name=stream.name).first()
        if head is None:
            return None
        head.notifications.all().delete()
        head.epoch = new_epoch()
        head.pruned_through = head.seq
        head.save(update_fields=["epoch", "pruned_through"])
        return head


def notifications_prune(*, older_than_days: int | None, keep_per_stream: int | None) -> int:
    """Delete old events (by age and/or beyond the newest N per stream); returns how many.

    Each affected stream keeps its epoch and raises ``pruned_through`` to the
    highest deleted seq, so a client asking from before it gets
    ``recovered: false`` instead of a partial replay.
    """
    deleted = 0
    if older_than_days is not None:
        cutoff = timezone.now() - timedelta(days=older_than_days)
        old = Notification.objects.filter(created_at__lt=cutoff)
        for stream_id, horizon in old.values_list("stream_id").annotate(horizon=Max("seq")):
            deleted += _prune_stream(stream_id, horizon)
    if keep_per_stream is not None:
        for stream_id, horizon in Stream.objects.filter(seq__gt=F("pruned_through") + keep_per_stream).values_list(
            "id", F("seq") - keep_per_stream
        ):
            deleted += _prune_stream(stream_id, horizon)
    return deleted


def _prune_stream(stream_id: int, horizon: int) -> int:
    with transaction.atomic():
        head = Stream.objects.select_for_update().get(pk=stream_id)
        if horizon <= head.pruned_through:
            return 0
        count, _ = Notification.objects.filter(stream_id=stream_id, seq__lte=horizon).delete()
        head.pruned_through = horizon
        head.save(update_fields=["pruned_through"])
        return count
