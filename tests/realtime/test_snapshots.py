"""One snapshot for a subscribe's check and read: where it is used, what it sees, and what a commit during it does."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import DatabaseError, connection, connections, transaction
from django.db.models import F

from api.models import Foo
from api.views import FooViewSet
from realtime import reads, subscriptions
from realtime.log import stream_read
from realtime.logcache import get_log_cache
from realtime.models import Stream
from realtime.registry import registry
from realtime.snapshots import SnapshotUnavailable, read_only_snapshot, snapshot_database

from .conftest import Sentinel, subscribe
from .test_recovery import change, event_seqs, head, next_event, rename

pytestmark = pytest.mark.django_db(transaction=True)
postgres = pytest.mark.postgres


class FooElsewhere:
    """A database router that reads Foo from another database than the log."""

    def db_for_read(self, model: type, **hints: Any) -> str | None:
        return "elsewhere" if model is Foo else None


def on_another_connection(function: Callable[[], None]) -> None:
    """Run ``function`` in a thread of its own, so on a database connection of its own (autocommit: committed
    when it returns), and close that connection."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            function()
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), "the other connection's work did not finish"
    if errors:
        raise errors[0]


# --- where --------------------------------------------------------------------------------------


def test_the_snapshot_is_used_on_postgresql_only():
    """With the log and every live model on one database: its alias on PostgreSQL, ``None`` on SQLite."""
    assert snapshot_database() == ("default" if connection.vendor == "postgresql" else None)


def test_no_snapshot_when_a_live_model_is_read_from_another_database(settings):
    """A router that reads a live model from another database than the log: no snapshot could cover both."""
    settings.DATABASE_ROUTERS = [f"{__name__}.FooElsewhere"]
    assert snapshot_database() is None


@postgres
def test_no_snapshot_without_autocommit(monkeypatch):
    """``AUTOCOMMIT: False``: every atomic block is a savepoint, whose isolation level cannot change."""
    monkeypatch.setitem(connections["default"].settings_dict, "AUTOCOMMIT", False)
    assert snapshot_database() is None


@postgres
def test_no_snapshot_when_turned_off(settings):
    """``REALTIME["SNAPSHOT_CHECKS"] = False``: the three steps, even on PostgreSQL."""
    settings.REALTIME = {"SNAPSHOT_CHECKS": False}
    assert snapshot_database() is None


# --- what it is ---------------------------------------------------------------------------------


@postgres
def test_it_is_one_repeatable_read_read_only_transaction():
    """Inside it, PostgreSQL reports REPEATABLE READ and read-only."""
    with read_only_snapshot(using="default"), connection.cursor() as cursor:
        cursor.execute("SHOW transaction_isolation")
        assert cursor.fetchone() == ("repeatable read",)
        cursor.execute("SHOW transaction_read_only")
        assert cursor.fetchone() == ("on",)


@postgres
def test_a_commit_after_its_first_query_is_not_seen(alice):
    """Another connection's commit after the snapshot's first query is invisible to every later query in it."""
    with read_only_snapshot(using="default"):
        before = Foo.objects.count()
        on_another_connection(lambda: Foo.objects.create(owner=alice, name="during", bar="x"))
        assert Foo.objects.count() == before
    assert Foo.objects.count() == before + 1


@postgres
def test_a_write_in_it_is_refused(alice):
    """A check that writes fails in the snapshot (which is what sends its batch the three-step way)."""
    with pytest.raises(DatabaseError, match="read-only"), read_only_snapshot(using="default"):
        Foo.objects.create(owner=alice, name="never", bar="x")


def test_inside_another_transaction_there_is_no_snapshot():
    """An open transaction's isolation level can no longer change: ``SnapshotUnavailable``, not a wrong snapshot."""
    with transaction.atomic(), pytest.raises(SnapshotUnavailable), read_only_snapshot(using="default"):
        pass


@postgres
def test_log_rows_read_in_it_are_kept(foo):
    """The log cache keeps the rows a snapshot read (committed: a read-only transaction appends none)."""
    stream = registry.stream_for(foo)
    head = Stream.objects.get(name=stream.name)
    with read_only_snapshot(using="default"):
        history = stream_read(stream=stream, since=1, epoch=head.epoch, limit=100)
    assert [row.seq for row in history.notifications] == [2]
    assert [row.seq for row in get_log_cache().rows(stream_id=head.pk, epoch=head.epoch, after=1, through=2)] == [2]


# --- a subscribe opened in it -------------------------------------------------------------------


@postgres
async def test_a_subscribe_is_checked_once(connect, alice, foo, monkeypatch):
    """A subscribe with ``since`` runs one permission check, in the snapshot of its read, and replays as before."""
    real = subscriptions.streams_readable
    calls: list[int] = []

    def counted(**kwargs: Any) -> list[bool]:
        calls.append(len(kwargs["streams"]))
        return real(**kwargs)

    monkeypatch.setattr(subscriptions, "streams_readable", counted)
    start = await head(foo)
    await change(foo, 2)
    ws = await connect(alice)
    *replayed, subscribed = await subscribe(ws, foo, since=start.seq)
    assert event_seqs(replayed) == [start.seq + 1, start.seq + 2]
    assert (subscribed["seq"], subscribed["replayed"]) == (start.seq + 2, 2)
    assert calls == [1]


@postgres
async def test_a_removal_committed_between_the_check_and_the_read_is_revoked_live(connect, bob, foo, monkeypatch):
    """A removal that another connection commits after the snapshot's check, before its read: the subscribe is
    answered from the snapshot (bob was a member in it), then revoked by the removal's own event, and nothing of
    foo reaches bob afterwards."""
    real_read = subscriptions.subscriptions_read

    def remove_bob_then_read(**kwargs: Any) -> Any:
        on_another_connection(lambda: Foo.objects.get(pk=foo.pk).members.remove(bob))
        return real_read(**kwargs)

    ws = await connect(bob)
    sentinel = await Sentinel.on(ws, bob)
    start = await head(foo)
    await change(foo, 1)
    monkeypatch.setattr(subscriptions, "subscriptions_read", remove_bob_then_read)
    *replayed, subscribed = await subscribe(ws, foo, since=start.seq)
    monkeypatch.undo()
    assert event_seqs(replayed) == [start.seq + 1]
    assert subscribed["seq"] == start.seq + 1
    assert await ws.receive_json_from(timeout=5) == {
        "type": "unsubscribed",
        "stream": subscribed["stream"],
        "reason": "revoked",
    }
    await sync_to_async(rename)(foo.pk, "after bob left")
    await sentinel.fire()


@postgres
async def test_a_change_committed_between_the_check_and_the_read_arrives_live_once(connect, alice, foo, monkeypatch):
    """A change that another connection commits after the snapshot's check, before its read, is not replayed (the
    read does not see it) but arrives live, exactly once, in order."""
    start = await head(foo)
    await change(foo, 2)
    real_read = subscriptions.subscriptions_read

    def commit_then_read(**kwargs: Any) -> Any:
        on_another_connection(lambda: rename(foo.pk, "during-snapshot"))
        return real_read(**kwargs)

    monkeypatch.setattr(subscriptions, "subscriptions_read", commit_then_read)
    ws = await connect(alice)
    *replayed, subscribed = await subscribe(ws, foo, since=start.seq)
    monkeypatch.undo()
    assert event_seqs(replayed) == [start.seq + 1, start.seq + 2]
    assert (subscribed["seq"], subscribed["replayed"]) == (start.seq + 2, 2)
    during = await next_event(ws)
    assert (during["meta"]["seq"], during["payload"]["name"]) == (start.seq + 3, "during-snapshot")
    await change(foo, 1, prefix="after")
    after = await next_event(ws)
    assert (after["meta"]["seq"], after["payload"]["name"]) == (start.seq + 4, "after-0")


@postgres
async def test_a_check_that_writes_is_opened_the_three_step_way(connect, alice, foo, monkeypatch, caplog):
    """A view whose ``get_queryset`` writes (refused in a read-only snapshot) still serves its subscribes: the
    batch is opened the three-step way, with a warning that names the setting."""
    real_get_queryset = FooViewSet.get_queryset

    def writing_get_queryset(self: FooViewSet) -> Any:
        Foo.objects.filter(pk=-1).update(bar=F("bar"))  # an UPDATE, even of no row
        return real_get_queryset(self)

    monkeypatch.setattr(FooViewSet, "get_queryset", writing_get_queryset)
    monkeypatch.setattr(reads, "_warned", False)  # the first failure of the process is the one at WARNING
    start = await head(foo)
    await change(foo, 1)
    ws = await connect(alice)
    with caplog.at_level(logging.WARNING, logger="realtime.reads"):
        *replayed, subscribed = await subscribe(ws, foo, since=start.seq)
    assert event_seqs(replayed) == [start.seq + 1]
    assert subscribed["replayed"] == 1
    assert "SNAPSHOT_CHECKS" in caplog.text
