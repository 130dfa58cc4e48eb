"""One event per object per transaction, with the transaction's rechecks (``realtime.pending``, ``tracking``)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from api.events import events
from api.models import Foo
from realtime import pending as pending_module
from realtime.events import EventRegistry
from realtime.models import Notification, Stream
from realtime.pending import pending_events
from realtime.registry import registry

pytestmark = pytest.mark.django_db

extra = EventRegistry("pendingtests")
PINGED = extra.define("foo:pinged", action_type="PING_FOO")


def fail_inside_a_savepoint(change: Any) -> None:
    """Run ``change`` in a savepoint that rolls back."""
    try:
        with transaction.atomic():
            change()
            raise RuntimeError("undo the savepoint")
    except RuntimeError:
        pass


def fail_after(change: Any) -> None:
    change()
    raise RuntimeError("roll back")


def save_bar(foo: Foo, value: str) -> None:
    foo.bar = value
    foo.save()


def logged(foo: Foo) -> list[Notification]:
    return list(Notification.objects.filter(stream__name=registry.stream_for(foo).name).order_by("seq"))


@pytest.fixture
def messages(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The channel-layer messages published after commit (captured instead of sent)."""
    sent: list[dict[str, Any]] = []

    def capture(group: str, message: dict[str, Any]) -> bool:
        if message["type"] == "realtime.event":  # not its copy for live lists
            sent.append(message)
        return True

    monkeypatch.setattr(pending_module.publish, "group_send", capture)
    return sent


def test_fields_then_members_is_one_event_with_the_final_state(foo, bob, messages, django_capture_on_commit_callbacks):
    """Saving a field, then removing a member, in one transaction: one event, final state, rechecking bob."""
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        foo.bar = "SECRET"
        foo.save()
        foo.members.remove(bob)
    (event,) = logged(foo)[2:]
    assert (event.seq, event.event, event.payload["bar"], event.payload["members"]) == (
        3,
        "api:foo:changed",
        "SECRET",
        [],
    )
    (message,) = messages
    assert (message["seq"], message["recheck"], message["visibility"]) == (3, [str(bob.pk)], True)


def test_members_then_fields_is_one_event_with_the_final_state(foo, bob, messages, django_capture_on_commit_callbacks):
    """The other order: removing the member first, then the field change, is the same one event."""
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        foo.members.remove(bob)
        foo.bar = "SECRET"
        foo.save()
    (event,) = logged(foo)[2:]
    assert (event.payload["bar"], event.payload["members"]) == ("SECRET", [])
    (message,) = messages
    assert (message["seq"], message["recheck"], message["visibility"]) == (3, [str(bob.pk)], True)


def test_the_stream_replay_floor_moves_to_the_visibility_change(foo, bob):
    """A folded event that changed visibility moves ``Stream.visibility_seq`` to its seq."""
    assert Stream.objects.get(name=registry.stream_for(foo).name).visibility_seq == 2  # bob added
    with transaction.atomic():
        foo.bar = "x"
        foo.save()
        assert Stream.objects.get(name=registry.stream_for(foo).name).visibility_seq == 2
        foo.members.remove(bob)
    assert Stream.objects.get(name=registry.stream_for(foo).name).visibility_seq == 3


def test_a_create_with_members_is_one_created_event_and_no_visibility_change(alice, bob):
    """Creating and sharing in one transaction: one CREATE with the members; there was no earlier state to hide."""
    with transaction.atomic():
        foo = Foo.objects.create(owner=alice, name="new")
        foo.members.add(bob)
    (event,) = logged(foo)
    assert (event.event, event.payload["members"]) == ("api:foo:created", ["bob"])
    assert Stream.objects.get(name=registry.stream_for(foo).name).visibility_seq == 0


def test_create_then_delete_in_one_transaction_is_one_final_event(alice):
    """A create and a delete of the same object in one transaction: one final DELETE event."""
    with transaction.atomic():
        foo = Foo.objects.create(owner=alice, name="brief")
        pk = foo.pk
        foo.delete()
    rows = list(Notification.objects.filter(object_id=pk, stream__object_type="foo"))
    assert [(row.event, row.final) for row in rows] == [("api:foo:deleted", True)]


def test_separate_transactions_are_separate_events(foo, bob):
    """Without a surrounding transaction each change commits on its own, and each is its own event."""
    foo.bar = "first"
    foo.save()
    foo.members.remove(bob)
    assert [(n.seq, n.payload["bar"], n.payload["members"]) for n in logged(foo)[2:]] == [
        (3, "first", ["bob"]),
        (4, "first", []),
    ]


def test_a_sent_event_in_between_is_not_folded_into(foo, bob, messages, django_capture_on_commit_callbacks):
    """An app's own event between two changes stays where it is; the later change gets its own event."""
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        foo.bar = "before"
        foo.save()
        extra.send(PINGED, objects=[foo])
        foo.members.remove(bob)
    assert [n.event for n in logged(foo)[2:]] == ["api:foo:changed", "pendingtests:foo:pinged", "api:foo:changed"]
    # Every event of the stream in the transaction carries the transaction's recheck, the first one too.
    assert [message["recheck"] for message in messages] == [[str(bob.pk)]] * 3


def test_a_change_rolled_back_with_its_savepoint_leaves_the_first_state(
    foo, messages, django_capture_on_commit_callbacks
):
    """A change inside a savepoint that rolls back is not folded into the event appended before it."""
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        save_bar(foo, "kept")
        fail_inside_a_savepoint(lambda: save_bar(foo, "rolled back"))
    assert [n.payload["bar"] for n in logged(foo)[2:]] == ["kept"]
    assert [message["seq"] for message in messages] == [3]


def test_a_savepoint_rollback_keeps_the_earlier_events_recheck(
    foo, bob, carol, messages, django_capture_on_commit_callbacks
):
    """The rechecks gathered before a rolled-back savepoint stay on the events that survive it."""
    foo.members.add(carol)
    messages.clear()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        foo.members.remove(bob)
        fail_inside_a_savepoint(lambda: foo.members.remove(carol))
        save_bar(foo, "after")
    # The save folds into bob's removal (appended outside the savepoint); carol's own event was rolled back.
    assert [(n.seq, n.payload["bar"], n.payload["members"]) for n in logged(foo)[3:]] == [(4, "after", ["carol"])]
    # Its recheck still names carol: an over-wide recheck is harmless, a missing one is not.
    assert [message["recheck"] for message in messages] == [sorted([str(bob.pk), str(carol.pk)])]


def test_a_rolled_back_transaction_leaves_nothing_pending(foo):
    """After a rollback the stream has no pending events, so the next change appends afresh."""
    with pytest.raises(RuntimeError), transaction.atomic():
        fail_after(lambda: save_bar(foo, "gone"))
    assert pending_events(registry.stream_for(foo).name) == []
    foo.bar = "next"
    foo.save()
    assert [n.payload["bar"] for n in logged(foo)[2:]] == ["next"]


def test_events_send_is_unchanged(bob):
    """``events.send`` to inboxes still appends one notification per target (nothing to fold)."""
    from api.events import FOO_SHARED

    with transaction.atomic():
        first = events.send(FOO_SHARED, users=[bob], title="one")
        second = events.send(FOO_SHARED, users=[bob], title="two")
    assert [first[0].seq, second[0].seq] == [1, 2]
