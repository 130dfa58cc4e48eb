"""Bulk ORM writes of live models are logged in their transaction and published after commit (``realtime.writes``)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from api.models import Foo
from realtime import pending
from realtime.models import Notification
from realtime.registry import registry

pytestmark = pytest.mark.django_db


def logged(foo: Foo) -> list[Notification]:
    return list(Notification.objects.filter(stream__name=registry.stream_for(foo).name).order_by("seq"))


@pytest.fixture
def messages(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The event messages published after commit (captured instead of sent)."""
    sent: list[dict[str, Any]] = []

    def capture(group: str, message: dict[str, Any]) -> bool:
        if message["type"] == "realtime.event":
            sent.append(message)
        return True

    monkeypatch.setattr(pending.publish, "group_send", capture)
    return sent


def test_queryset_update_logs_each_changed_row(alice, foo, messages, django_capture_on_commit_callbacks):
    """``Foo.objects.filter(...).update(bar=...)``: one event per row whose tracked value changed, after commit."""
    same = Foo.objects.create(owner=alice, name="same", bar="x")
    with django_capture_on_commit_callbacks(execute=True):
        count = Foo.objects.filter(owner=alice).update(bar="x")
    assert count == 2
    (event,) = logged(foo)[2:]
    assert (event.event, event.payload["bar"]) == ("api:foo:changed", "x")
    assert len(logged(same)) == 1  # created only: its bar was already "x"
    assert [(m["stream"], m["seq"]) for m in messages] == [(registry.stream_for(foo).name, 3)]


def test_an_update_of_an_untracked_field_logs_nothing(foo):
    """Updating only fields the live model does not track appends nothing."""
    from django.utils import timezone

    Foo.objects.filter(pk=foo.pk).update(updated_at=timezone.now())
    assert len(logged(foo)) == 2


def test_an_update_of_a_visibility_field_rechecks_everyone(foo, carol, messages, django_capture_on_commit_callbacks):
    """``update(owner=...)`` changes who may see the Foo: its event rechecks every subscriber."""
    with django_capture_on_commit_callbacks(execute=True):
        Foo.objects.filter(pk=foo.pk).update(owner=carol)
    (message,) = messages
    assert (message["recheck"], message["visibility"]) == ("*", True)


def test_related_manager_updates_are_logged(bob, foo):
    """``bob.shared_foos.update(...)`` (a related manager) is logged like the model's own manager."""
    bob.shared_foos.update(name="through bob")
    assert logged(foo)[-1].payload["name"] == "through bob"


def test_bulk_create_logs_a_created_event_per_object(alice):
    """``bulk_create`` logs each created object as created, with its serializer payload."""
    made = Foo.objects.bulk_create([Foo(owner=alice, name=f"bulk {i}") for i in range(3)])
    assert [[(n.event, n.payload["name"]) for n in logged(obj)] for obj in made] == [
        [("api:foo:created", f"bulk {i}")] for i in range(3)
    ]


def test_bulk_update_logs_changed_objects_only(alice):
    """``bulk_update`` logs each object whose tracked fields really changed."""
    first, second = Foo.objects.bulk_create([Foo(owner=alice, name="a"), Foo(owner=alice, name="b")])
    first.name, second.name = "a", "b2"
    Foo.objects.bulk_update([first, second], ["name"])
    assert [len(logged(first)), [n.payload["name"] for n in logged(second)]] == [1, ["b", "b2"]]


def test_queryset_delete_logs_final_events(alice, foo):
    """``QuerySet.delete()`` logs each deleted object's final DELETE event (Django's collector sends the signals)."""
    name = registry.stream_for(foo).name
    Foo.objects.filter(pk=foo.pk).delete()
    last = Notification.objects.filter(stream__name=name).order_by("seq").last()
    assert (last.event, last.final) == ("api:foo:deleted", True)


def test_a_rolled_back_bulk_write_leaves_no_event(alice, foo, messages, django_capture_on_commit_callbacks):
    """A bulk update inside a transaction that rolls back logs and publishes nothing."""

    def update_then_fail() -> None:
        with transaction.atomic():
            Foo.objects.filter(pk=foo.pk).update(bar="never")
            raise RuntimeError("roll back")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        update_then_fail()
    assert len(logged(foo)) == 2
    assert messages == []


def test_updates_and_saves_in_one_transaction_are_one_event(foo, messages, django_capture_on_commit_callbacks):
    """A save and a bulk update of the same Foo in one transaction fold into one event."""
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        foo.name = "saved"
        foo.save()
        Foo.objects.filter(pk=foo.pk).update(bar="updated")
    (event,) = logged(foo)[2:]
    assert (event.payload["name"], event.payload["bar"]) == ("saved", "updated")
    assert len(messages) == 1


def test_migrations_still_see_the_declared_managers():
    """The live manager subclass deconstructs as the manager the model declared (no migration churn)."""
    from django.contrib.auth import get_user_model

    assert Foo.objects.deconstruct()[1] == "django.db.models.manager.Manager"
    assert get_user_model().objects.deconstruct()[1].endswith("UserManager")
