"""Change tracking: every committed change of a live model appends exactly the right event (``realtime.tracking``)."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import transaction

from api.models import Foo
from realtime import log
from realtime.ids import encode_id
from realtime.models import Notification
from realtime.registry import registry
from realtime.signals import notification_appended

from .conftest import subscribe

pytestmark = pytest.mark.django_db

PAYLOAD_KEYS = {"id", "name", "bar", "owner", "members", "created_at", "updated_at"}


class Published:
    """The events appended, as the publisher will send them at commit (stream, seq, final, recheck)."""

    def __init__(self) -> None:
        self.pending: list[Any] = []

    def calls(self) -> list[dict[str, Any]]:
        # Rendered when read: a later change in the same transaction revises an event and its rechecks.
        return [
            {
                "stream": pending.notification.stream.name,
                "seq": pending.notification.seq,
                "final": pending.notification.final,
                "recheck": pending.changes.recheck,
            }
            for pending in self.pending
        ]

    def __eq__(self, other: object) -> bool:
        return self.calls() == other

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.calls()[index]

    def __iter__(self):
        return iter(self.calls())

    def clear(self) -> None:
        self.pending.clear()


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> Published:
    """What each append hands to the publisher; it is still published for real."""
    recorded = Published()
    real = log.pending_register

    def record(notification: Notification, **kwargs: Any) -> Any:
        pending = real(notification, **kwargs)
        recorded.pending.append(pending)
        return pending

    monkeypatch.setattr(log, "pending_register", record)
    return recorded


def events_of(foo_or_pk: Foo | int) -> list[Notification]:
    pk = foo_or_pk if isinstance(foo_or_pk, int) else foo_or_pk.pk
    return list(Notification.objects.filter(stream__name=f"foo.{encode_id(pk)}").order_by("seq"))


def only_new(foo: Foo, after: int) -> list[Notification]:
    return [n for n in events_of(foo) if n.seq > after]


def foo_publishes(published: Published, foo: Foo) -> list[dict[str, Any]]:
    return [call for call in published if call["stream"] == registry.stream_for(foo).name]


# --- create, change, delete -------------------------------------------------------------------


def test_create_appends_one_created_event(alice, published):
    """A new Foo: one ``api:foo:created`` / ``CREATE_FOO`` event carrying the serializer output."""
    foo = Foo.objects.create(owner=alice, name="fresh", bar="b")
    (event,) = events_of(foo)
    assert (event.seq, event.event, event.action_type) == (1, "api:foo:created", "CREATE_FOO")
    assert (event.object_type, event.object_id) == ("foo", str(foo.pk))
    assert set(event.payload) == PAYLOAD_KEYS  # no REST-only "stream" field
    assert (event.payload["id"], event.payload["name"], event.payload["bar"]) == (encode_id(foo.pk), "fresh", "b")
    assert (event.payload["owner"], event.payload["members"]) == ("alice", [])
    assert published == [{"stream": f"foo.{encode_id(foo.pk)}", "seq": 1, "final": False, "recheck": None}]


def test_tracked_change_appends_one_changed_event(foo, published):
    """Changing a tracked field: one ``api:foo:changed`` / ``UPDATE_FOO`` event with the new state."""
    foo.bar = "two"
    foo.save()
    (event,) = only_new(foo, 2)
    assert (event.seq, event.event, event.action_type) == (3, "api:foo:changed", "UPDATE_FOO")
    assert (event.payload["bar"], event.payload["name"], event.payload["members"]) == ("two", "first", ["bob"])
    assert published == [{"stream": f"foo.{encode_id(foo.pk)}", "seq": 3, "final": False, "recheck": None}]


def test_several_tracked_fields_in_one_save_are_one_event(foo):
    """One save is one event, however many tracked fields it changes."""
    foo.name, foo.bar = "n2", "b2"
    foo.save()
    (event,) = only_new(foo, 2)
    assert (event.payload["name"], event.payload["bar"]) == ("n2", "b2")


def test_owner_change_rechecks_every_subscriber(foo, bob, published):
    """``owner`` decides visibility: its change asks every subscriber to recheck (``"*"``)."""
    foo.owner = bob
    foo.save()
    (event,) = only_new(foo, 2)
    assert event.payload["owner"] == "bob"
    assert published[-1]["recheck"] == "*"


def test_delete_appends_a_final_deleted_event(foo, published):
    """Deleting: one ``api:foo:deleted`` / ``DELETE_FOO`` event with just the id, marked final."""
    pk = foo.pk
    foo.delete()
    (event,) = [n for n in events_of(pk) if n.seq > 2]
    assert (event.seq, event.event, event.action_type) == (3, "api:foo:deleted", "DELETE_FOO")
    assert event.payload == {"id": encode_id(pk)}
    assert (event.object_type, event.object_id) == ("foo", str(pk))
    assert published[-1] == {"stream": f"foo.{encode_id(pk)}", "seq": 3, "final": True, "recheck": None}


def test_queryset_delete_is_tracked_too(foo):
    """``QuerySet.delete()`` sends ``post_delete`` per object, so each deletion is logged."""
    pk = foo.pk
    Foo.objects.filter(pk=pk).delete()
    assert [n.event for n in events_of(pk)][-1] == "api:foo:deleted"


# --- saves that change nothing tracked -------------------------------------------------------------


def test_save_without_changes_appends_nothing(foo, published):
    """Saving an unchanged Foo logs and publishes nothing."""
    foo.save()
    Foo.objects.get(pk=foo.pk).save()
    assert only_new(foo, 2) == []
    assert published == []


def test_save_changing_only_untracked_fields_appends_nothing(foo, published):
    """Timestamps are not tracked: changing only them logs nothing."""
    foo.created_at = foo.created_at.replace(year=2001)
    foo.save()
    foo.save(update_fields=["updated_at"])
    assert only_new(foo, 2) == []
    assert published == []


def test_setting_a_field_back_appends_nothing(foo):
    """Changing a field and back before saving is no change."""
    foo.name = "other"
    foo.name = "first"
    foo.save()
    assert only_new(foo, 2) == []


# --- many-to-many ---------------------------------------------------------------------------------


def test_forward_add_appends_changed_without_recheck(foo, carol, published):
    """``foo.members.add``: one changed event with the new members; nobody loses access, so no recheck."""
    foo.members.add(carol)
    (event,) = only_new(foo, 2)
    assert (event.event, sorted(event.payload["members"])) == ("api:foo:changed", ["bob", "carol"])
    assert foo_publishes(published, foo) == [
        {"stream": f"foo.{encode_id(foo.pk)}", "seq": 3, "final": False, "recheck": None}
    ]


def test_forward_remove_rechecks_the_removed_users(foo, bob, carol, published):
    """``foo.members.remove``: one changed event; the removed users' subscriptions are rechecked."""
    foo.members.add(carol)
    published.clear()
    foo.members.remove(bob, carol)
    (event,) = only_new(foo, 3)
    assert event.payload["members"] == []
    assert foo_publishes(published, foo)[0]["recheck"] == sorted([str(bob.pk), str(carol.pk)])


def test_forward_clear_rechecks_everyone_who_was_a_member(foo, bob, carol, published):
    """``foo.members.clear``: one changed event, recheck of every former member."""
    foo.members.add(carol)
    published.clear()
    foo.members.clear()
    (event,) = only_new(foo, 3)
    assert event.payload["members"] == []
    assert foo_publishes(published, foo)[0]["recheck"] == sorted([str(bob.pk), str(carol.pk)])


def test_forward_set_is_one_event_with_the_final_members(foo, bob, carol, published):
    """``members.set`` swapping bob for carol (a remove then an add, in one transaction): one event, rechecking bob."""
    foo.members.set([carol])
    (event,) = only_new(foo, 2)
    assert (event.event, event.payload["members"]) == ("api:foo:changed", ["carol"])
    assert [call["recheck"] for call in foo_publishes(published, foo)] == [[str(bob.pk)]]


def test_reverse_add_appends_changed_on_each_foo(alice, carol, foo, published):
    """``user.shared_foos.add``: each affected Foo gets a changed event, without recheck."""
    other = Foo.objects.create(owner=alice, name="second")
    published.clear()
    carol.shared_foos.add(foo, other)
    assert [sorted(n.payload["members"]) for n in only_new(foo, 2)] == [["bob", "carol"]]
    assert [n.payload["members"] for n in only_new(other, 1)] == [["carol"]]
    assert {call["recheck"] for call in published if call["stream"].startswith("foo.")} == {None}


def test_reverse_remove_rechecks_that_user(alice, bob, foo, published):
    """``user.shared_foos.remove``: the Foo changes, and that user's subscription is rechecked."""
    bob.shared_foos.remove(foo)
    (event,) = only_new(foo, 2)
    assert event.payload["members"] == []
    assert foo_publishes(published, foo) == [
        {"stream": f"foo.{encode_id(foo.pk)}", "seq": 3, "final": False, "recheck": [str(bob.pk)]}
    ]


def test_reverse_clear_changes_every_foo_and_rechecks_that_user(alice, bob, foo, published):
    """``user.shared_foos.clear``: every Foo the user was in changes, each rechecking that user."""
    other = Foo.objects.create(owner=alice, name="second")
    other.members.add(bob)
    published.clear()
    bob.shared_foos.clear()
    assert [n.payload["members"] for n in only_new(foo, 2)] == [[]]
    assert [n.payload["members"] for n in only_new(other, 2)] == [[]]
    assert [call["recheck"] for call in published] == [[str(bob.pk)], [str(bob.pk)]]


def test_m2m_calls_that_change_nothing_append_nothing(foo, bob, carol, published):
    """Adding an existing member, removing a non-member, clearing an empty set: no events."""
    foo.members.add(bob)
    foo.members.remove(carol)
    carol.shared_foos.remove(foo)
    carol.shared_foos.clear()
    assert only_new(foo, 2) == []
    assert published == []


def test_removing_members_and_non_members_rechecks_only_the_members(foo, bob, carol, published):
    """Only users who really were members are removed, so only they are rechecked."""
    foo.members.remove(bob, carol)
    (event,) = only_new(foo, 2)
    assert event.payload["members"] == []
    assert foo_publishes(published, foo)[0]["recheck"] == [str(bob.pk)]


# --- transactions ------------------------------------------------------------------------------------


def change_then_fail(foo: Foo) -> None:
    with transaction.atomic():
        foo.name = "never"
        foo.save()
        foo.members.clear()
        raise RuntimeError("roll back")


def test_rolled_back_change_appends_nothing(foo, django_capture_on_commit_callbacks):
    """A change in a rolled-back transaction leaves no event and schedules no publish."""
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError):
        change_then_fail(foo)
    assert callbacks == []
    assert only_new(foo, 2) == []
    foo.refresh_from_db()
    foo.bar = "committed"
    foo.save()
    assert [n.seq for n in only_new(foo, 2)] == [3]  # the rolled-back change used no seq


def test_a_change_is_published_only_at_commit(foo, django_capture_on_commit_callbacks):
    """Publishing is an on-commit callback: one per event, none run while the transaction is open."""
    with django_capture_on_commit_callbacks() as callbacks:
        foo.name = "later"
        foo.save()
        foo.members.remove(foo.members.get())
    assert len(callbacks) == 2


@pytest.mark.django_db(transaction=True)
def test_a_failing_append_rolls_the_save_back(foo):
    """A save outside any transaction whose event cannot be appended does not commit: no change without its event."""

    def fail(sender: Any, notification: Notification, **kwargs: Any) -> None:
        raise RuntimeError("the append failed")

    notification_appended.connect(fail, dispatch_uid="test-tracking-failing-append")
    try:
        foo.bar = "never committed"
        with pytest.raises(RuntimeError, match="the append failed"):
            foo.save()
    finally:
        notification_appended.disconnect(dispatch_uid="test-tracking-failing-append")
    assert Foo.objects.get(pk=foo.pk).bar == "one"
    assert [n.seq for n in events_of(foo)] == [1, 2]


@pytest.mark.django_db(transaction=True)
async def test_rolled_back_change_sends_nothing(connect, alice, foo):
    """A subscriber sees nothing of a rolled-back change: the next event it gets is the next committed one."""
    communicator = await connect(alice)
    await subscribe(communicator, foo, since=2)
    with pytest.raises(RuntimeError):
        await sync_to_async(change_then_fail)(foo)
    committed = await sync_to_async(Foo.objects.get)(pk=foo.pk)
    await sync_to_async(committed.save)()  # nothing tracked changed: no event
    committed.bar = "committed"
    await sync_to_async(committed.save)()
    frame = await communicator.receive_json_from(timeout=5)
    assert (frame["meta"]["seq"], frame["payload"]["bar"], frame["payload"]["name"]) == (3, "committed", "first")


# --- the Django admin ---------------------------------------------------------------------------------


def admin_form(foo: Foo, **changes: Any) -> dict[str, Any]:
    data = {
        "owner": foo.owner_id,
        "name": foo.name,
        "bar": foo.bar,
        "members": list(foo.members.values_list("pk", flat=True)),
        "_save": "Save",
    }
    data.update(changes)
    return data


def test_admin_change_form_is_tracked(admin_client, foo, bob, carol, published):
    """Saving the admin change form (row, then members, in one transaction) logs one event with the final state."""
    url = f"/admin/api/foo/{foo.pk}/change/"
    response = admin_client.post(url, admin_form(foo, name="via admin", members=[bob.pk, carol.pk]))
    assert response.status_code == 302, response.content
    (changed,) = only_new(foo, 2)
    assert (changed.event, changed.payload["name"], sorted(changed.payload["members"])) == (
        "api:foo:changed",
        "via admin",
        ["bob", "carol"],
    )


def test_admin_save_without_changes_appends_nothing(admin_client, foo):
    """Re-saving the admin form unchanged logs nothing."""
    response = admin_client.post(f"/admin/api/foo/{foo.pk}/change/", admin_form(foo))
    assert response.status_code == 302
    assert only_new(foo, 2) == []


def test_admin_add_and_delete_are_tracked(admin_client, alice):
    """Creating and deleting through the admin log created and deleted events."""
    response = admin_client.post(
        "/admin/api/foo/add/", {"owner": alice.pk, "name": "admin-made", "bar": "", "_save": "Save"}
    )
    assert response.status_code == 302, response.content
    foo = Foo.objects.get(name="admin-made")
    pk = foo.pk
    assert admin_client.post(f"/admin/api/foo/{pk}/delete/", {"post": "yes"}).status_code == 302
    assert [n.event for n in events_of(pk)] == ["api:foo:created", "api:foo:deleted"]
