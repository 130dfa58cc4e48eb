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
replay. Nor does a replay reach back across the stream's latest visibility
change (``Stream.visibility_seq``: a member added or removed, an owner
changed): whoever may see the object now may not have seen it before, so
such a client reloads the object over REST instead.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from realtime.events import NO_NOTICE, Event, Notice
from realtime.logcache import get_log_cache
from realtime.models import Notification, Stream, new_epoch
from realtime.pending import PendingPublish, pending_register
from realtime.signals import notification_appended
from realtime.streams import StreamRef

# The counter upsert. A visibility change also moves ``visibility_seq`` to the new seq (the replay floor).
_UPSERT_COUNTER = """
    INSERT INTO {table} (name, object_type, object_id, epoch, seq, pruned_through, visibility_seq, created_at)
    VALUES (%s, %s, %s, %s, 1, 0, %s, %s)
    ON CONFLICT (name) DO UPDATE SET seq = {table}.seq + 1,
        visibility_seq = CASE WHEN %s THEN {table}.seq + 1 ELSE {table}.visibility_seq END
    RETURNING id, seq, epoch
"""


def _counter_params(stream: StreamRef, *, visibility: bool) -> list[Any]:
    first_visibility = 1 if visibility else 0
    return [
        stream.name,
        stream.object_type,
        stream.object_id,
        new_epoch(),
        first_visibility,
        timezone.now(),
        visibility,
    ]


def _next_seq(stream: StreamRef, *, visibility: bool) -> tuple[int, int, str]:
    """Lock the stream's counter row (creating it on first use); return (id, seq, epoch)."""
    sql = _UPSERT_COUNTER.format(table=connection.ops.quote_name(Stream._meta.db_table))
    with connection.cursor() as cursor:
        cursor.execute(sql, _counter_params(stream, visibility=visibility))
        return cursor.fetchone()


def _insert(stream: StreamRef, notification: Notification, *, visibility: bool) -> str:
    """Take the next seq and insert ``notification`` with it; fills in its pk, stream_id and seq, returns the epoch."""
    if connection.vendor == "sqlite":
        notification.stream_id, notification.seq, epoch = _next_seq(stream, visibility=visibility)
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
        cursor.execute(sql, _counter_params(stream, visibility=visibility) + params)
        notification.pk, notification.stream_id, notification.seq, epoch = cursor.fetchone()
    notification._state.adding = False
    return epoch


def notification_append(
    *,
    stream: StreamRef,
    event: Event,
    payload: dict[str, Any],
    object_type: str = "",
    object_id: str = "",
    notice: Notice = NO_NOTICE,
    final: bool = False,
    recheck: list[Any] | str | None = None,
    visibility: bool = False,
    action: str | None = None,
    listed: bool = False,
) -> Notification:
    """Append one event to ``stream`` in the current transaction and publish it after commit.

    ``notice`` makes it a user-facing notification (an inbox entry, perhaps
    pushed). ``final`` marks the last event of a stream (its object was deleted):
    subscribers are told, then unsubscribed. ``recheck`` names the users
    (or ``"*"`` for all) whose access the change may have revoked; every
    event of the stream in this transaction makes them re-run the permission
    check before delivery. ``visibility`` says the change decides who may
    see the stream: no replay reaches back across it (``stream_read``).
    ``action`` (a tracked model change) lets a later change of the same
    object in this transaction revise this event (``notification_revise``);
    ``listed`` publishes it to the object type's group too, for live lists.
    """
    with transaction.atomic(savepoint=False):
        notification = Notification(
            event=event.name,
            action_type=event.action_type,
            object_type=object_type,
            object_id=object_id or "",
            payload=payload,
            title=notice.title,
            body=notice.body,
            icon=notice.icon,
            client_action=notice.client_action,
            push=notice.push,
            final=final,
        )
        epoch = _insert(stream, notification, visibility=visibility)
        notification.stream = Stream(
            id=notification.stream_id,
            name=stream.name,
            object_type=stream.object_type,
            object_id=stream.object_id,
            epoch=epoch,
            seq=notification.seq,
        )
        notification_appended.send(sender=Notification, notification=notification)
        pending_register(notification, recheck=recheck, visibility=visibility, action=action, listed=listed)
    return notification


def notification_revise(
    *,
    pending: PendingPublish,
    event: Event,
    payload: dict[str, Any],
    final: bool,
    recheck: list[Any] | str | None,
    visibility: bool,
    action: str,
) -> Notification:
    """Fold a later change of the same object into its event appended earlier in this transaction.

    The event keeps its seq and takes the new event name, payload and
    ``final`` flag: subscribers see one event per transaction, with the state
    it committed. ``recheck`` joins the stream's rechecks; ``visibility``
    marks the event (and the stream's replay floor) as a visibility change.
    """
    notification = pending.notification
    notification.event, notification.action_type = event.name, event.action_type
    notification.payload, notification.final = payload, final
    with transaction.atomic(savepoint=False):
        Notification.objects.filter(pk=notification.pk).update(
            event=notification.event, action_type=notification.action_type, payload=payload, final=final
        )
        if visibility and not pending.visibility:
            Stream.objects.filter(pk=notification.stream_id).update(visibility_seq=notification.seq)
            pending.visibility = True
    pending.changes.add(recheck)
    pending.action = action
    return notification


@dataclass
class StreamHistory:
    """The answer to "what happened on ``stream`` after ``since``?"."""

    stream: StreamRef
    epoch: str | None
    seq: int
    recovered: bool
    notifications: list[Notification] = field(default_factory=list)
    #: Why recovery failed: "epoch", "pruned", "visibility", "ahead" or "limit"; None when recovered or no ``since``.
    reason: str | None = None
    #: The seq of the stream's latest visibility change (0: none): no replay starts before it.
    visibility_seq: int = 0


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
        stream,
        head.epoch if head else None,
        head.seq if head else 0,
        recovered=False,
        reason="pruned",
        visibility_seq=head.visibility_seq if head else 0,
    )


#: ``_refusal``'s answer when the rows after ``since`` are to be read.
_READ = "read"


def _refusal(
    *, head: Stream | None, since: int | None, epoch: str | None, limit: int, allow_partial: bool
) -> str | None:
    """Why a read of ``head``'s stream after ``since`` replays nothing (a reason, or ``None`` without ``since``),
    or ``_READ`` when the rows are to be read. Decided from the head alone."""
    if since is None:
        return None
    seq = head.seq if head else 0
    if epoch is not None and (head is None or epoch != head.epoch):
        return "epoch"
    if since > seq:
        return "ahead"
    if head is not None and since < head.pruned_through:
        return "pruned"
    if head is not None and since < head.visibility_seq - 1:
        # The requester may not have been able to see the object before its latest visibility change.
        return "visibility"
    if seq - since > limit and not allow_partial:
        return "limit"
    return _READ


def _history(stream: StreamRef, head: Stream | None, *, recovered: bool, reason: str | None = None) -> StreamHistory:
    return StreamHistory(
        stream,
        head.epoch if head else None,
        head.seq if head else 0,
        recovered=recovered,
        reason=reason,
        visibility_seq=head.visibility_seq if head else 0,
    )


def _rows_history(
    stream: StreamRef, head: Stream | None, rows: list[Notification], *, since: int, limit: int, kept: bool = False
) -> StreamHistory | None:
    """The history of ``rows`` read after ``since``; ``None`` when they no longer match the head.

    Rows just read get ``head`` as their stream; ``kept`` rows (``realtime.logcache``, shared between threads)
    keep the one they were first read with.
    """
    seq = head.seq if head else 0
    # Every seq up to the head we read had committed before we read it, so the rows must run since+1,
    # since+2, ... at least that far (or to the limit). A hole means retention or a reset committed between
    # the two queries; reading again sees its raised horizon (or new epoch) and refuses.
    if not _unbroken(rows, since=since, at_least=min(seq - since, limit)):
        return None
    if not kept:
        for row in rows:
            row.stream = head
    history = _history(stream, head, recovered=True)
    history.notifications = rows
    return history


def _stream_read_once(
    *, stream: StreamRef, since: int | None, epoch: str | None, limit: int, allow_partial: bool
) -> StreamHistory | None:
    """One read of head and rows; ``None`` when the rows no longer match the head (history changed meanwhile)."""
    head = stream_head(stream)
    decision = _refusal(head=head, since=since, epoch=epoch, limit=limit, allow_partial=allow_partial)
    if decision != _READ:
        return _history(stream, head, recovered=False, reason=decision)
    cache = get_log_cache()
    rows = None
    if head is not None:
        rows = cache.rows(stream_id=head.pk, epoch=head.epoch, after=since, through=min(head.seq, since + limit))
    if rows is not None:
        return _rows_history(stream, head, rows, since=since, limit=limit, kept=True)
    rows = list(Notification.objects.filter(stream_id=head.pk, seq__gt=since).order_by("seq")[:limit] if head else [])
    history = _rows_history(stream, head, rows, since=since, limit=limit)
    if history is not None and head is not None:
        cache.keep(stream_id=head.pk, epoch=head.epoch, rows=(row for row in rows if row.seq <= head.seq))
    return history


def streams_read(*, reads: list[tuple[StreamRef, int | None, str | None]], limit: int) -> list[StreamHistory]:
    """``stream_read`` for many ``(stream, since, epoch)`` at once: one query for the heads, one for all rows.

    Each answer is what ``stream_read`` would give for that stream alone
    (a stream whose rows changed between the two queries is read again on
    its own).
    """
    heads = {head.name: head for head in Stream.objects.filter(name__in={stream.name for stream, _, _ in reads})}
    answers: list[StreamHistory | None] = []
    wanted: dict[int, tuple[Stream, int]] = {}
    for index, (stream, since, epoch) in enumerate(reads):
        head = heads.get(stream.name)
        decision = _refusal(head=head, since=since, epoch=epoch, limit=limit, allow_partial=False)
        if decision != _READ:
            answers.append(_history(stream, head, recovered=False, reason=decision))
        elif head is None or head.seq == since:
            answers.append(_history(stream, head, recovered=True))
        else:
            answers.append(None)
            wanted[index] = (head, since)
    # Rows an earlier read kept in this process (``realtime.logcache``), and one query for all the others.
    cache = get_log_cache()
    cached: dict[tuple[int, int], list[Notification]] = {}
    condition = Q()
    for head, since in {(head.pk, since): (head, since) for head, since in wanted.values()}.values():
        rows = cache.rows(stream_id=head.pk, epoch=head.epoch, after=since, through=head.seq)
        if rows is not None:
            cached[head.pk, since] = rows
        else:
            condition |= Q(stream_id=head.pk, seq__gt=since, seq__lte=head.seq)
    rows_by_stream: dict[int, list[Notification]] = defaultdict(list)
    if condition:
        for row in Notification.objects.filter(condition).order_by("stream_id", "seq"):
            rows_by_stream[row.stream_id].append(row)
    for index, (head, since) in wanted.items():
        stream = reads[index][0]
        rows = cached.get((head.pk, since))
        fetched = rows is None
        if rows is None:
            rows = [row for row in rows_by_stream[head.pk] if row.seq > since]
        history = _rows_history(stream, head, rows, since=since, limit=limit, kept=not fetched)
        if history is not None and fetched:
            cache.keep(stream_id=head.pk, epoch=head.epoch, rows=rows)
        answers[index] = history or stream_read(stream=stream, since=since, epoch=reads[index][2], limit=limit)
    return answers  # type: ignore[return-value]


def replay_floor(head: Stream | None) -> int:
    """The lowest ``since`` a replay of ``head``'s stream may start from (retention and visibility)."""
    if head is None:
        return 0
    return max(head.pruned_through, head.visibility_seq - 1)


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
