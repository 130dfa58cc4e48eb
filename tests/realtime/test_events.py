"""Named events (``realtime.events``) and the inbox notifications of sharing a Foo (``api.sharing``)."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.core.exceptions import ImproperlyConfigured

from api import events as api_events
from api.models import Foo
from api.sharing import foo_shared_notify
from realtime import events as realtime_events
from realtime import log
from realtime.events import Event, EventRegistry, get_event
from realtime.frames import event_frame
from realtime.ids import encode_id
from realtime.models import Notification
from realtime.registry import registry
from realtime.signals import notification_appended
from realtime.streams import inbox_stream

from .conftest import subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def declared(monkeypatch: pytest.MonkeyPatch) -> None:
    """Isolate the process-wide table of declared events, so test declarations do not leak."""
    monkeypatch.setattr(realtime_events, "_declared", dict(realtime_events._declared))


@pytest.fixture
def notes(declared: None) -> tuple[EventRegistry, Event]:
    """A test app's registry with one declared event."""
    registry_ = EventRegistry("notes")
    return registry_, registry_.define("note:posted", action_type="CREATE_NOTE")


def inbox(user) -> list[Notification]:
    return list(Notification.objects.filter(stream__name=inbox_stream(user.pk).name).order_by("seq"))


# --- EventRegistry.define ---------------------------------------------------------------


def test_define_prefixes_the_app_and_registers_the_event(declared):
    """``define("ctx:action")`` declares ``<app>:ctx:action``, findable by its full name."""
    registry_ = EventRegistry("notes")
    event = registry_.define("note:posted", action_type="CREATE_NOTE")
    assert event == Event("notes:note:posted", "CREATE_NOTE")
    assert str(event) == "notes:note:posted"
    assert get_event("notes:note:posted") is event
    assert registry_.events == {"notes:note:posted": event}


@pytest.mark.parametrize(
    "name", ["posted", "note:posted:now", "Note:posted", "note:Posted", "note posted:x", "1note:posted", "note:", ""]
)
def test_define_refuses_malformed_names(declared, name):
    """Names must be ``<context>:<action>`` in lower case: anything else fails loudly, saying the shape."""
    with pytest.raises(ImproperlyConfigured, match="<app>:<context>:<action>"):
        EventRegistry("notes").define(name, action_type="CREATE_NOTE")


def test_define_refuses_a_malformed_app_label(declared):
    """The app part is checked too."""
    with pytest.raises(ImproperlyConfigured):
        EventRegistry("Notes").define("note:posted", action_type="CREATE_NOTE")


@pytest.mark.parametrize("action_type", ["create_note", "Create-Note", "", "1NOTE", "CREATE NOTE"])
def test_define_refuses_malformed_action_types(declared, action_type):
    """Action types must be upper-case Redux types such as ``UPDATE_FOO``."""
    with pytest.raises(ImproperlyConfigured, match="upper case"):
        EventRegistry("notes").define("note:posted", action_type=action_type)


def test_define_twice_with_another_action_type_fails(declared):
    """One name, one action type: a conflicting redeclaration fails; an identical one is harmless."""
    EventRegistry("notes").define("note:posted", action_type="CREATE_NOTE")
    assert EventRegistry("notes").define("note:posted", action_type="CREATE_NOTE").action_type == "CREATE_NOTE"
    with pytest.raises(ImproperlyConfigured, match="twice"):
        EventRegistry("notes").define("note:posted", action_type="UPDATE_NOTE")


def test_the_demo_apps_events_are_declared():
    """``api/events.py`` declares the Foo events that tracking uses, and the share notification."""
    assert get_event("api:foo:created") == Event("api:foo:created", "CREATE_FOO")
    assert get_event("api:foo:changed") == Event("api:foo:changed", "UPDATE_FOO")
    assert get_event("api:foo:deleted") == Event("api:foo:deleted", "DELETE_FOO")
    assert get_event("api:foo:shared") == Event("api:foo:shared", "CREATE_NOTIFICATION")
    assert registry.get("foo").get_event("changed") is api_events.FOO_CHANGED


# --- EventRegistry.send ------------------------------------------------------------------


def test_send_logs_one_notification_per_object_and_user(notes, alice, bob, carol, foo):
    """``send`` appends the event to each object's stream and each user's inbox (users as objects or ids)."""
    registry_, posted = notes
    appended = registry_.send(posted, objects=[foo], users=[bob, carol.pk], payload={"text": "hi"})
    assert [(n.stream.name, n.seq) for n in appended] == [
        (registry.stream_for(foo).name, 3),
        (inbox_stream(bob.pk).name, 2),  # bob's first entry was the share notification
        (inbox_stream(carol.pk).name, 1),
    ]
    for notification in appended:
        stored = Notification.objects.get(pk=notification.pk)
        assert (stored.event, stored.action_type, stored.payload) == (
            "notes:note:posted",
            "CREATE_NOTE",
            {"text": "hi"},
        )
    on_foo, to_bob, to_carol = appended
    assert (on_foo.object_type, on_foo.object_id) == ("foo", str(foo.pk))
    assert (to_bob.object_type, to_bob.object_id) == ("inbox", str(bob.pk))
    assert (to_carol.object_type, to_carol.object_id) == ("inbox", str(carol.pk))


def test_send_with_a_subject_names_it_on_every_notification(notes, alice, bob, foo):
    """``subject`` sets the object a notification is about, for inbox entries too."""
    registry_, posted = notes
    (notification,) = registry_.send(posted, users=[bob], subject=foo, title="About your Foo")
    assert (notification.object_type, notification.object_id) == ("foo", str(foo.pk))
    assert event_frame(notification)["payload"]["object_id"] == encode_id(foo.pk)


def test_send_goes_through_the_same_publish_path(notes, bob, monkeypatch):
    """Every sent notification is published after commit like a tracked change, one message per stream."""
    registry_, posted = notes
    scheduled = []
    real = log.pending_register
    monkeypatch.setattr(
        log, "pending_register", lambda n, **kw: (scheduled.append((n.stream.name, n.seq)), real(n, **kw))[1]
    )
    registry_.send(posted, users=[bob], title="Hello")
    assert scheduled == [(inbox_stream(bob.pk).name, 1)]


def test_send_is_one_transaction(notes, bob, carol):
    """If one append fails, none of the notifications of that ``send`` is kept."""
    registry_, posted = notes

    def fail_for_carol(sender, notification, **kwargs):
        if notification.stream.name == inbox_stream(carol.pk).name:
            raise RuntimeError("carol's append failed")

    notification_appended.connect(fail_for_carol, dispatch_uid="test-events-fail")
    try:
        with pytest.raises(RuntimeError):
            registry_.send(posted, users=[bob, carol], title="Hello")
    finally:
        notification_appended.disconnect(dispatch_uid="test-events-fail")
    assert inbox(bob) == []
    assert inbox(carol) == []


def test_send_locks_streams_in_one_order_whatever_the_order_given(notes, alice, bob, carol):
    """Streams are appended to (and locked) in name order, so concurrent sends cannot deadlock each other."""
    registry_, posted = notes
    order: list[str] = []

    def record(sender, notification, **kwargs):
        order.append(notification.stream.name)

    notification_appended.connect(record, dispatch_uid="test-events-order")
    try:
        for users in ([alice, bob, carol], [carol, bob, alice], [bob, carol, alice]):
            order.clear()
            appended = registry_.send(posted, users=users, title="Hello")
            assert order == sorted(inbox_stream(user.pk).name for user in users)
            assert [n.stream.name for n in appended] == [inbox_stream(user.pk).name for user in users]
    finally:
        notification_appended.disconnect(dispatch_uid="test-events-order")


def test_send_refuses_another_apps_event(notes, bob):
    """An app sends only its own events: a foreign one is a programming error."""
    registry_, _ = notes
    with pytest.raises(ValueError, match="not an event of 'notes'"):
        registry_.send(api_events.FOO_SHARED, users=[bob])


def test_send_to_nobody_appends_nothing(notes):
    """No objects and no users: nothing is logged."""
    registry_, posted = notes
    assert registry_.send(posted) == []
    assert not Notification.objects.exists()


@pytest.mark.django_db(transaction=True)
async def test_sent_notification_reaches_the_inbox_subscriber(notes, connect, bob):
    """A sent user-facing notification arrives live on the user's inbox as the same frame the log serves."""
    registry_, posted = notes
    communicator = await connect(bob)
    await subscribe(communicator, since=0)
    (sent,) = await sync_to_async(registry_.send)(
        posted, users=[bob], title="Hello", body="Body", icon="/i.svg", client_action="/notes/1", push=True
    )
    frame = await communicator.receive_json_from(timeout=5)
    stored = await Notification.objects.select_related("stream").aget(pk=sent.pk)
    assert frame == event_frame(stored)
    assert frame["type"] == "CREATE_NOTE"
    assert (frame["payload"]["title"], frame["payload"]["read"]) == ("Hello", False)
    assert (frame["meta"]["stream"], frame["meta"]["seq"], frame["meta"]["object_type"]) == (
        inbox_stream(bob.pk).name,
        1,
        "inbox",
    )


# --- sharing a Foo (api.sharing) -------------------------------------------------------------


def test_adding_a_member_notifies_them(alice, carol, foo):
    """Sharing a Foo puts a user-facing, pushed notification in the new member's inbox."""
    foo.members.add(carol)
    (notification,) = inbox(carol)
    assert (notification.event, notification.action_type) == ("api:foo:shared", "CREATE_NOTIFICATION")
    assert notification.title == "alice shared “first” with you"
    assert notification.body == "one"
    assert notification.icon == "/static/api/share.svg"
    assert notification.client_action == f"/foo/{encode_id(foo.pk)}"
    assert notification.push is True
    assert (notification.object_type, notification.object_id) == ("foo", str(foo.pk))
    assert notification.payload == {"name": "first", "owner": "alice"}


def test_share_notification_frame_matches_the_protocol(alice, carol, foo):
    """The inbox frame carries the documented payload and meta."""
    foo.members.add(carol)
    (notification,) = inbox(carol)
    notification = Notification.objects.select_related("stream").get(pk=notification.pk)
    frame = event_frame(notification)
    assert frame["type"] == "CREATE_NOTIFICATION"
    assert frame["payload"] == {
        "id": encode_id(notification.pk),
        "event": "api:foo:shared",
        "title": "alice shared “first” with you",
        "body": "one",
        "icon": "/static/api/share.svg",
        "client_action": f"/foo/{encode_id(foo.pk)}",
        "object_type": "foo",
        "object_id": encode_id(foo.pk),
        "data": {"name": "first", "owner": "alice"},
        "read": False,
        "created_at": frame["meta"]["at"],
    }
    assert {k: frame["meta"][k] for k in ("stream", "seq", "event", "object_type", "id")} == {
        "stream": inbox_stream(carol.pk).name,
        "seq": 1,
        "event": "api:foo:shared",
        "object_type": "inbox",
        "id": encode_id(carol.pk),
    }


def test_sharing_in_reverse_notifies_too(alice, carol):
    """``user.shared_foos.add(...)`` notifies that user once per Foo."""
    first = Foo.objects.create(owner=alice, name="a")
    second = Foo.objects.create(owner=alice, name="b")
    carol.shared_foos.add(first, second)
    assert sorted(n.object_id for n in inbox(carol)) == sorted([str(first.pk), str(second.pk)])


def test_sharing_through_rest_notifies_the_members(client_for, alice, bob, carol):
    """Creating a Foo over REST with members notifies each of them."""
    response = client_for(alice).post("/api/foo/", {"name": "planned", "members": ["bob", "carol"]}, format="json")
    assert response.status_code == 201
    assert [n.title for n in inbox(bob)] == ["alice shared “planned” with you"]
    assert [n.title for n in inbox(carol)] == ["alice shared “planned” with you"]


def test_the_owner_is_not_notified_of_their_own_foo(alice, foo):
    """Adding the owner as a member tells nobody anything."""
    foo.members.add(alice)
    assert inbox(alice) == []
    foo_shared_notify(foo=foo, user_ids=[alice.pk])
    assert inbox(alice) == []


def test_existing_members_and_removals_are_not_notified(bob, foo):
    """Re-adding a member or removing one sends no share notification."""
    foo.members.add(bob)
    foo.members.remove(bob)
    assert len(inbox(bob)) == 1  # only the original share
