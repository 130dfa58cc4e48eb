"""The notification log: dense appends, replay reads, resets and retention (``realtime.log``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from realtime import log
from realtime.events import Event, Notice
from realtime.log import notification_append, notifications_prune, stream_read, stream_reset
from realtime.models import Notification, Stream
from realtime.registry import registry
from realtime.signals import notification_appended
from realtime.streams import inbox_stream

pytestmark = pytest.mark.django_db

EVENT = Event("test:log:appended", "APPEND_TEST")
STREAM = registry.get("foo").get_stream(4242)
OTHER = registry.get("foo").get_stream(4343)


def append(n: int, stream=STREAM) -> list[Notification]:
    return [notification_append(stream=stream, event=EVENT, payload={"i": i}) for i in range(n)]


def head(stream=STREAM) -> Stream:
    return Stream.objects.get(name=stream.name)


def seqs(history) -> list[int]:
    return [n.seq for n in history.notifications]


# --- notification_append -----------------------------------------------------------


def test_append_creates_the_stream_row_on_first_use():
    """The first append creates the counter row with the stream's subject, seq 1 and an epoch."""
    assert not Stream.objects.exists()
    notification = notification_append(
        stream=STREAM, event=EVENT, payload={"a": 1}, object_type="foo", object_id="4242"
    )
    row = head()
    assert (row.name, row.object_type, row.object_id, row.seq, row.pruned_through) == (STREAM.name, "foo", "4242", 1, 0)
    assert row.epoch
    assert notification.seq == 1
    assert notification.stream.epoch == row.epoch
    assert notification.stream.name == STREAM.name


def test_append_assigns_dense_seqs_and_keeps_the_epoch():
    """Successive appends get seqs 1, 2, 3... under one unchanging epoch."""
    appended = append(5)
    assert [n.seq for n in appended] == [1, 2, 3, 4, 5]
    assert {n.stream.epoch for n in appended} == {head().epoch}
    assert head().seq == 5
    assert list(Notification.objects.order_by("seq").values_list("seq", flat=True)) == [1, 2, 3, 4, 5]


def test_streams_count_independently():
    """Each stream has its own sequence, starting at 1."""
    append(3)
    appended = append(2, stream=OTHER)
    assert [n.seq for n in appended] == [1, 2]
    assert head().seq == 3
    assert head(OTHER).epoch != head().epoch


def test_append_stores_the_event_and_user_facing_fields():
    """Everything passed to the append is stored on the notification row."""
    notification = notification_append(
        stream=inbox_stream(7),
        event=EVENT,
        payload={"k": "v"},
        object_type="foo",
        object_id="99",
        notice=Notice(title="t", body="b", icon="/i.svg", client_action="/foo/x", push=True),
    )
    row = Notification.objects.get(pk=notification.pk)
    assert (row.event, row.action_type, row.object_type, row.object_id) == (EVENT.name, "APPEND_TEST", "foo", "99")
    assert (row.title, row.body, row.icon, row.client_action, row.push) == ("t", "b", "/i.svg", "/foo/x", True)
    assert row.payload == {"k": "v"}
    assert row.is_user_facing


@pytest.mark.postgres
def test_an_append_is_one_statement_on_postgresql(django_assert_num_queries):
    """On PostgreSQL each append, the stream's first included, is one statement: the counter row is locked only
    for the round trip that also inserts the event."""
    with transaction.atomic():
        for i in range(3):
            with django_assert_num_queries(1):
                notification_append(stream=STREAM, event=EVENT, payload={"i": i})
    assert head().seq == 3


def test_an_append_is_two_statements_on_sqlite(django_assert_num_queries):
    """On SQLite (no data-modifying CTE) an append is the counter upsert and the insert, nothing more."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only; PostgreSQL has its own count")
    with transaction.atomic():
        for i in range(3):
            with django_assert_num_queries(2):
                notification_append(stream=STREAM, event=EVENT, payload={"i": i})
    assert head().seq == 3


def test_rolled_back_append_leaves_no_row_and_consumes_no_seq():
    """An append in a rolled-back transaction is undone, counter included."""
    append(1)

    def append_then_fail():
        with transaction.atomic():
            append(2)
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        append_then_fail()
    assert head().seq == 1
    assert append(1)[0].seq == 2


@pytest.mark.django_db(transaction=True)
def test_signal_fires_inside_the_appending_transaction():
    """``notification_appended`` sees the stored row, inside the transaction, with its stream loaded."""
    seen = []

    def receiver(sender, notification, **kwargs):
        seen.append(
            (
                transaction.get_connection().in_atomic_block,
                Notification.objects.filter(pk=notification.pk).exists(),
                notification.stream.name,
                notification.stream.seq,
                notification.stream.epoch,
            )
        )

    notification_appended.connect(receiver, dispatch_uid="test-log-receiver")
    try:
        append(2)
    finally:
        notification_appended.disconnect(dispatch_uid="test-log-receiver")
    epoch = head().epoch
    assert seen == [(True, True, STREAM.name, 1, epoch), (True, True, STREAM.name, 2, epoch)]


def test_a_failing_signal_receiver_rolls_the_append_back():
    """A receiver that raises undoes the append: receivers commit or roll back with the event."""

    def receiver(sender, notification, **kwargs):
        raise RuntimeError("receiver failed")

    notification_appended.connect(receiver, dispatch_uid="test-log-failing")
    try:
        with pytest.raises(RuntimeError), transaction.atomic():
            append(1)
    finally:
        notification_appended.disconnect(dispatch_uid="test-log-failing")
    assert not Notification.objects.exists()
    assert not Stream.objects.exists()


# --- stream_read -------------------------------------------------------------------


def test_read_without_since_replays_nothing_and_reports_the_head():
    """No position: not recovered, nothing read, but the current seq and epoch are reported."""
    append(3)
    history = stream_read(stream=STREAM, since=None, limit=100)
    assert (history.recovered, history.reason, history.seq, history.epoch) == (False, None, 3, head().epoch)
    assert history.notifications == []


@pytest.mark.parametrize(("since", "expected"), [(0, [1, 2, 3, 4]), (2, [3, 4]), (4, [])])
def test_read_returns_the_events_after_since_oldest_first(since, expected):
    """Every event after ``since`` comes back, in seq order; at the head that is none."""
    append(4)
    history = stream_read(stream=STREAM, since=since, limit=100)
    assert history.recovered
    assert history.reason is None
    assert seqs(history) == expected
    assert history.seq == 4


def test_read_loads_the_stream_with_a_fixed_number_of_queries(django_assert_num_queries):
    """Reading is two queries (head, rows), however many events; each row has its stream loaded."""
    append(30)
    with django_assert_num_queries(2):
        history = stream_read(stream=STREAM, since=0, limit=100)
        names = {n.stream.name for n in history.notifications}
    assert names == {STREAM.name}
    assert len(history.notifications) == 30


def test_a_since_below_the_pruned_horizon_is_refused_in_one_query(django_assert_num_queries):
    """A ``since`` before the retained history is refused from the head alone: no rows read, no re-read."""
    append(10)
    notifications_prune(older_than_days=None, keep_per_stream=3)
    with django_assert_num_queries(1):
        history = stream_read(stream=STREAM, since=6, limit=100)
    assert (history.recovered, history.reason, history.notifications) == (False, "pruned", [])


def test_read_with_the_current_epoch_recovers_and_another_epoch_is_refused():
    """``epoch`` must be the stream's current one; otherwise nothing is replayed."""
    append(3)
    assert seqs(stream_read(stream=STREAM, since=1, epoch=head().epoch, limit=100)) == [2, 3]
    refused = stream_read(stream=STREAM, since=1, epoch="not-it", limit=100)
    assert (refused.recovered, refused.reason, refused.notifications) == (False, "epoch", [])
    assert refused.epoch == head().epoch


def test_read_of_an_unknown_stream():
    """A stream without history: from 0 it is caught up; any epoch or a later seq is refused."""
    empty = stream_read(stream=STREAM, since=0, limit=100)
    assert (empty.recovered, empty.seq, empty.epoch, empty.notifications) == (True, 0, None, [])
    assert stream_read(stream=STREAM, since=0, epoch="abc", limit=100).reason == "epoch"
    assert stream_read(stream=STREAM, since=1, limit=100).reason == "ahead"


def test_read_since_ahead_of_the_stream_is_refused():
    """A ``since`` beyond the head is not a position in this stream: not recovered."""
    append(3)
    history = stream_read(stream=STREAM, since=4, limit=100)
    assert (history.recovered, history.reason, history.seq, history.notifications) == (False, "ahead", 3, [])


def test_read_before_the_pruned_horizon_is_refused_and_at_it_recovers():
    """After pruning, ``since`` below the horizon is refused; from the horizon on, everything replays."""
    append(10)
    notifications_prune(older_than_days=None, keep_per_stream=3)
    assert head().pruned_through == 7
    refused = stream_read(stream=STREAM, since=6, limit=100)
    assert (refused.recovered, refused.reason, refused.notifications) == (False, "pruned", [])
    assert seqs(stream_read(stream=STREAM, since=7, limit=100)) == [8, 9, 10]


def test_read_beyond_the_limit_is_refused_not_truncated():
    """More missing events than ``limit``: refused as a whole, never a partial replay."""
    append(10)
    assert seqs(stream_read(stream=STREAM, since=5, limit=5)) == [6, 7, 8, 9, 10]
    refused = stream_read(stream=STREAM, since=4, limit=5)
    assert (refused.recovered, refused.reason, refused.notifications) == (False, "limit", [])


def test_read_allow_partial_pages_the_first_limit_events():
    """``allow_partial`` (REST paging) returns the oldest ``limit`` events after ``since``."""
    append(10)
    history = stream_read(stream=STREAM, since=2, limit=3, allow_partial=True)
    assert history.recovered
    assert seqs(history) == [3, 4, 5]
    assert history.seq == 10


def test_read_never_mixes_streams():
    """Only the requested stream's events are returned."""
    append(2)
    append(5, stream=OTHER)
    assert seqs(stream_read(stream=STREAM, since=0, limit=100)) == [1, 2]


def test_history_pruned_while_reading_is_refused_not_partial(monkeypatch):
    """Retention running between reading the head and the rows must not yield a replay with a hole."""
    append(10)
    real_head = log.stream_head

    def head_then_prune(stream):
        current = real_head(stream)
        notifications_prune(older_than_days=None, keep_per_stream=3)
        return current

    monkeypatch.setattr(log, "stream_head", head_then_prune)
    history = stream_read(stream=STREAM, since=2, limit=100)
    assert (history.recovered, history.notifications) == (False, [])
    assert history.reason == "pruned"


def test_history_reset_while_reading_is_refused_not_empty(monkeypatch):
    """A reset between reading the head and the rows must not look like "nothing missed"."""
    append(5)
    real_head = log.stream_head

    def head_then_reset(stream):
        current = real_head(stream)
        stream_reset(stream=STREAM)
        return current

    monkeypatch.setattr(log, "stream_head", head_then_reset)
    history = stream_read(stream=STREAM, since=2, limit=100)
    assert (history.recovered, history.notifications) == (False, [])


# --- stream_reset --------------------------------------------------------------------


def test_reset_forgets_history_and_changes_the_epoch():
    """Reset deletes the events, picks a new epoch and moves the horizon to the head; seq never goes back."""
    append(5)
    old_epoch = head().epoch
    returned = stream_reset(stream=STREAM)
    row = head()
    assert returned.pk == row.pk
    assert row.epoch != old_epoch
    assert (row.seq, row.pruned_through) == (5, 5)
    assert not Notification.objects.exists()
    following = append(1)[0]
    assert (following.seq, following.stream.epoch) == (6, row.epoch)


def test_after_reset_old_positions_are_refused():
    """The old epoch is refused, and an old seq without epoch is below the new horizon."""
    append(5)
    old_epoch = head().epoch
    stream_reset(stream=STREAM)
    append(2)
    assert stream_read(stream=STREAM, since=3, epoch=old_epoch, limit=100).reason == "epoch"
    assert stream_read(stream=STREAM, since=3, limit=100).reason == "pruned"
    assert seqs(stream_read(stream=STREAM, since=5, epoch=head().epoch, limit=100)) == [6, 7]


def test_reset_of_an_unknown_stream_returns_none():
    """Nothing to reset: ``None``, and no row is created."""
    assert stream_reset(stream=STREAM) is None
    assert not Stream.objects.exists()


def test_reset_leaves_other_streams_alone():
    """Only the named stream loses its history."""
    append(2)
    append(3, stream=OTHER)
    other_epoch = head(OTHER).epoch
    stream_reset(stream=STREAM)
    assert head(OTHER).epoch == other_epoch
    assert Notification.objects.filter(stream__name=OTHER.name).count() == 3


# --- notifications_prune -----------------------------------------------------------------


def age(stream, *, through: int, days: int) -> None:
    Notification.objects.filter(stream__name=stream.name, seq__lte=through).update(
        created_at=timezone.now() - timedelta(days=days)
    )


def test_prune_by_age_deletes_old_events_and_raises_the_horizon():
    """Events older than N days go; the stream keeps its epoch and records the highest deleted seq."""
    append(6)
    age(STREAM, through=4, days=40)
    epoch = head().epoch
    assert notifications_prune(older_than_days=30, keep_per_stream=None) == 4
    row = head()
    assert (row.pruned_through, row.epoch, row.seq) == (4, epoch, 6)
    assert list(Notification.objects.values_list("seq", flat=True).order_by("seq")) == [5, 6]


def test_prune_by_count_keeps_the_newest_per_stream():
    """Beyond M per stream the oldest go; shorter streams are untouched."""
    append(10)
    append(2, stream=OTHER)
    epoch = head().epoch
    assert notifications_prune(older_than_days=None, keep_per_stream=4) == 6
    assert (head().pruned_through, head().epoch) == (6, epoch)
    assert head(OTHER).pruned_through == 0
    assert list(Notification.objects.filter(stream__name=STREAM.name).values_list("seq", flat=True)) == [7, 8, 9, 10]
    assert Notification.objects.filter(stream__name=OTHER.name).count() == 2


def test_prune_by_age_and_count_together():
    """Both limits apply; the horizon is the higher of the two."""
    append(10)
    append(3, stream=OTHER)
    age(OTHER, through=2, days=40)
    assert notifications_prune(older_than_days=30, keep_per_stream=5) == 5 + 2
    assert head().pruned_through == 5
    assert head(OTHER).pruned_through == 2


def test_prune_without_limits_or_twice_deletes_nothing_more():
    """No limits: nothing deleted; a second run with the same limits finds nothing left to do."""
    append(8)
    assert notifications_prune(older_than_days=None, keep_per_stream=None) == 0
    assert notifications_prune(older_than_days=None, keep_per_stream=3) == 5
    assert notifications_prune(older_than_days=None, keep_per_stream=3) == 0
    assert head().pruned_through == 5


def test_appends_after_pruning_continue_the_sequence():
    """Pruning never moves the counter: the next event follows the last one."""
    append(5)
    notifications_prune(older_than_days=None, keep_per_stream=1)
    assert append(1)[0].seq == 6
