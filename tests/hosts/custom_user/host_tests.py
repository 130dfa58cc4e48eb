"""The custom-user host's own tests: UUID-keyed users authenticate, subscribe, get rechecked and have inboxes."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from realtime.events import EventRegistry
from tests.hosts.custom_user.asgi import application
from tests.hosts.custom_user.people.models import Person, Task
from tests.hosts.hostkit import close_async_connections, handshake, request  # noqa: F401  (an autouse fixture)

pytestmark = pytest.mark.django_db(transaction=True)
events = EventRegistry("people")
ASSIGNED = events.define("task:assigned", action_type="CREATE_NOTIFICATION")


def person(name: str) -> tuple[Person, APIClient, list[tuple[bytes, bytes]]]:
    """A person, a REST client with their token, and the same token as handshake headers."""
    user = Person.objects.create_user(username=name, password="pw")
    token = Token.objects.create(user=user).key
    client = APIClient(HTTP_HOST="localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return user, client, [(b"authorization", f"Token {token}".encode())]


def test_the_host_passes_its_checks():
    """``manage.py check`` finds nothing to fix (realtime's checks included) with a UUID user model."""
    call_command("check", fail_level="WARNING")


async def test_task_events_reach_a_uuid_member_until_removed():
    """A member (UUID key) gets each event as REST shows it; removing them revokes the subscription at once."""
    alice, alice_rest, _ = await sync_to_async(person)("alice")
    bob, bob_rest, bob_token = await sync_to_async(person)("bob")
    created = (
        await sync_to_async(alice_rest.post)("/api/tasks/", {"title": "t", "members": [str(bob.pk)]}, format="json")
    ).json()
    assert created["owner"] == str(alice.pk)  # a UUID, rendered as text in the payload too
    ws = await handshake(application, headers=bob_token)
    *replayed, subscribed = await request(
        ws, {"action": "subscribe", "object_type": "task", "id": str(created["id"]), "since": 0}
    )
    assert subscribed["stream"] == f"task.{created['id']}"
    rest_view = (await sync_to_async(bob_rest.get)(f"/api/tasks/{created['id']}/")).json()
    rest_view.pop("stream")
    assert [frame["payload"] for frame in replayed] == [rest_view]

    await sync_to_async(alice_rest.patch)(f"/api/tasks/{created['id']}/", {"title": "t2"}, format="json")
    event = await ws.receive_json_from(timeout=5)
    assert (event["type"], event["payload"]["title"], event["payload"]["members"]) == (
        "UPDATE_TASK",
        "t2",
        [str(bob.pk)],
    )

    await sync_to_async(alice_rest.patch)(f"/api/tasks/{created['id']}/", {"members": []}, format="json")
    revoked = await ws.receive_json_from(timeout=5)
    assert revoked == {"type": "unsubscribed", "stream": f"task.{created['id']}", "reason": "revoked"}
    await ws.disconnect()


async def test_inbox_ticket_and_the_user_model_as_a_live_type():
    """A ticket authenticates a UUID user; their inbox is ``user.<uuid>``; the ``person`` stream has their changes."""
    alice, alice_rest, _ = await sync_to_async(person)("alice")
    ticket = (await sync_to_async(alice_rest.post)("/api/realtime/ticket")).json()["ticket"]
    ws = await handshake(application, query=f"ticket={ticket}")
    subscribed = (await request(ws, {"action": "subscribe", "object_type": "inbox"}))[-1]
    assert subscribed["stream"] == f"user.{alice.pk}"
    assert (await request(ws, {"action": "subscribe", "object_type": "person", "id": str(alice.pk)}))[-1][
        "type"
    ] == "subscribed"

    task = await sync_to_async(Task.objects.create)(owner=alice, title="t")
    await sync_to_async(events.send)(ASSIGNED, users=[alice], subject=task, title="A task for you")
    notification = await ws.receive_json_from(timeout=5)
    assert (notification["meta"]["stream"], notification["payload"]["title"]) == (f"user.{alice.pk}", "A task for you")
    assert notification["payload"]["object_id"] == str(task.pk)

    alice.first_name = "Alice"
    await sync_to_async(alice.save)()
    event = await ws.receive_json_from(timeout=5)
    assert (event["type"], event["payload"]) == (
        "UPDATE_PERSON",
        {"id": str(alice.pk), "username": "alice", "first_name": "Alice"},
    )
    await ws.disconnect()
