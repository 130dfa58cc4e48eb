"""Log rows kept in memory (``realtime.logcache``): reads that reuse them answer as the database would."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from realtime.events import Event, Notice
from realtime.frames import event_text
from realtime.log import notification_append, notifications_prune, stream_read, stream_reset, streams_read
from realtime.logcache import LogCache, committed_reads, get_log_cache
from realtime.models import Notification, Stream
from realtime.registry import registry
from realtime.streams import inbox_stream

# Rows are kept only when read in autocommit mode, as the realtime app's database threads read them.
pytestmark = pytest.mark.django_db(transaction=True)

EVENT = Event("test:logcache:appended", "APPEND_TEST")
FOO = registry.get("foo")
STREAM, OTHER = FOO.get_stream(5151), FOO.get_stream(5252)


def append(n: int, stream=STREAM, start: int = 0) -> list[Notification]:
    return [notification_append(stream=stream, event=EVENT, payload={"i": start + i}) for i in range(n)]


def texts(history) -> list[str]:
    return [event_text(notification) for notification in history.notifications]


def rows_queries(run) -> tuple[object, int]:
    """``run()``'s answer and how many queries it made of the log's rows table."""
    with CaptureQueriesContext(connection) as captured:
        answer = run()
    table = Notification._meta.db_table
    return answer, sum(f'FROM "{table}"' in query["sql"] for query in captured.captured_queries)


def test_a_second_read_of_the_same_rows_reads_only_the_heads():
    """Read again, the same rows come from memory (the heads are still read) and encode to the same frames."""
    epoch = append(5)[0].stream.epoch
    append(3, stream=OTHER)
    reads = [(STREAM, 1, epoch), (OTHER, 0, None)]
    first, first_queries = rows_queries(lambda: streams_read(reads=reads, limit=100))
    again, again_queries = rows_queries(lambda: streams_read(reads=reads, limit=100))
    assert (first_queries, again_queries) == (1, 0)
    assert [[n.seq for n in h.notifications] for h in again] == [[2, 3, 4, 5], [1, 2, 3]]
    assert [texts(h) for h in again] == [texts(h) for h in first]
    assert [(h.seq, h.epoch, h.recovered) for h in again] == [(h.seq, h.epoch, h.recovered) for h in first]
    single, single_queries = rows_queries(lambda: stream_read(stream=STREAM, since=2, epoch=epoch, limit=100))
    assert single_queries == 0
    assert [n.seq for n in single.notifications] == [3, 4, 5]


def test_events_beyond_the_kept_rows_are_read_from_the_database():
    """A head that moved on needs rows that are not kept: the read goes to the database and answers them all."""
    append(3)
    streams_read(reads=[(STREAM, 0, None), (OTHER, 0, None)], limit=100)
    append(2, start=3)
    history, queries = rows_queries(lambda: streams_read(reads=[(STREAM, 0, None), (OTHER, 0, None)], limit=100)[0])
    assert queries == 1
    assert [n.payload["i"] for n in history.notifications] == [0, 1, 2, 3, 4]
    assert history.seq == 5


def test_the_head_is_always_read_so_a_reset_or_retention_still_refuses():
    """Kept rows never bring back a replay the fresh head refuses: a reset changes the epoch, retention the horizon."""
    epoch = append(4)[0].stream.epoch
    assert len(stream_read(stream=STREAM, since=0, epoch=epoch, limit=100).notifications) == 4
    stream_reset(stream=STREAM)
    assert stream_read(stream=STREAM, since=0, epoch=epoch, limit=100).reason == "epoch"
    assert stream_read(stream=STREAM, since=0, limit=100).reason == "pruned"
    epoch = append(4, stream=OTHER)[0].stream.epoch
    assert len(stream_read(stream=OTHER, since=0, epoch=epoch, limit=100).notifications) == 4
    notifications_prune(older_than_days=None, keep_per_stream=2)
    assert stream_read(stream=OTHER, since=1, epoch=epoch, limit=100).reason == "pruned"
    kept = stream_read(stream=OTHER, since=2, epoch=epoch, limit=100)
    assert [n.seq for n in kept.notifications] == [3, 4]


def test_inbox_rows_are_never_kept_because_reading_them_changes_them():
    """A user-facing notification marked read replays as read: its row is read from the database each time."""
    stream = inbox_stream(1)
    notice = Notice(title="Hello", body="World")
    notification = notification_append(stream=stream, event=EVENT, payload={}, notice=notice)
    assert '"read":false' in texts(stream_read(stream=stream, since=0, limit=100))[0]
    Notification.objects.filter(pk=notification.pk).update(read_at=timezone.now())
    history, queries = rows_queries(lambda: stream_read(stream=stream, since=0, limit=100))
    assert queries == 1
    assert '"read":true' in texts(history)[0]


def test_rows_read_inside_a_transaction_are_not_kept():
    """A rolled-back append's seq is used again by the next one: rows read in a transaction are never kept."""
    epoch = append(1)[0].stream.epoch
    with transaction.atomic():
        append(1, start=1)
        assert [n.payload["i"] for n in stream_read(stream=STREAM, since=1, limit=100).notifications] == [1]
        transaction.set_rollback(True)
    assert len(get_log_cache()) == 0
    again = append(1, start=7)[0]
    assert (again.seq, again.stream.epoch) == (2, epoch)  # the same seq of the same epoch, another event
    assert [n.payload["i"] for n in stream_read(stream=STREAM, since=1, epoch=epoch, limit=100).notifications] == [7]


def test_rows_read_within_committed_reads_are_kept_even_in_a_transaction():
    """``committed_reads()`` (a read-only snapshot, which appends nothing) lets the rows read in it be kept."""
    append(2)
    with transaction.atomic(), committed_reads():
        assert [n.seq for n in stream_read(stream=STREAM, since=0, limit=100).notifications] == [1, 2]
    assert len(get_log_cache()) == 2


def test_rest_paging_takes_kept_rows_up_to_its_limit():
    """A partial read (REST paging) is answered from kept rows too: the first ``limit`` events after ``since``."""
    epoch = append(6)[0].stream.epoch
    stream_read(stream=STREAM, since=0, epoch=epoch, limit=100)
    page, queries = rows_queries(lambda: stream_read(stream=STREAM, since=1, limit=3, allow_partial=True))
    assert queries == 0
    assert [n.seq for n in page.notifications] == [2, 3, 4]
    assert page.recovered


def test_the_cache_holds_about_its_size_and_forgets_the_least_recently_used():
    """``LOG_CACHE_BYTES`` bounds the memory kept; a range with one row missing is not answered from memory."""
    append(3)
    append(3, stream=OTHER)
    stream_read(stream=STREAM, since=0, limit=100)
    per_row = get_log_cache().bytes // 3
    with override_settings(REALTIME={"LOG_CACHE_BYTES": per_row * 4}):
        cache = get_log_cache()
        stream_read(stream=STREAM, since=0, limit=100)
        stream_read(stream=OTHER, since=0, limit=100)
        assert len(cache) == 4
        assert cache.bytes <= per_row * 4
        head = Notification.objects.filter(stream__name=STREAM.name).first().stream
        assert cache.rows(stream_id=head.pk, epoch=head.epoch, after=0, through=3) is None
        again, queries = rows_queries(lambda: stream_read(stream=OTHER, since=0, limit=100))
        assert (queries, [n.seq for n in again.notifications]) == (0, [1, 2, 3])
    with override_settings(REALTIME={"LOG_CACHE_BYTES": 0}):
        stream_read(stream=STREAM, since=0, limit=100)
        _, queries = rows_queries(lambda: stream_read(stream=STREAM, since=0, limit=100))
        assert queries == 1
        assert len(get_log_cache()) == 0


def test_a_range_is_answered_only_when_every_row_of_it_is_kept():
    """``LogCache.rows``: all rows of the range in order, or ``None``; another epoch shares nothing."""
    cache = LogCache(max_bytes=1_000_000)
    stream = Stream(pk=1, name="foo.x", object_type="foo", epoch="a")
    rows = [Notification(seq=seq, payload={}, stream=stream, created_at=timezone.now()) for seq in (1, 2, 4)]
    cache.keep(stream_id=1, epoch="a", rows=rows)
    assert [row.seq for row in cache.rows(stream_id=1, epoch="a", after=0, through=2)] == [1, 2]
    assert cache.rows(stream_id=1, epoch="a", after=0, through=4) is None
    assert cache.rows(stream_id=1, epoch="b", after=0, through=2) is None
    assert cache.rows(stream_id=1, epoch="a", after=2, through=2) is None
