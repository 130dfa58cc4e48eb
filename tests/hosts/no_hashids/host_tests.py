"""The hashid-less host's own tests: plain ids and hashids both name streams as REST does; inboxes and the log work."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from realtime.events import EventRegistry
from tests.hosts.hostkit import close_async_connections, handshake, request  # noqa: F401  (an autouse fixture)
from tests.hosts.no_hashids.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)
events = EventRegistry("board")
MENTIONED = events.define("post:mentioned", action_type="CREATE_NOTIFICATION")


def author() -> tuple:
    user = get_user_model().objects.create_user(username="alice", password="pw")
    token = Token.objects.create(user=user).key
    client = APIClient(HTTP_HOST="localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return user, client, [(b"authorization", f"Token {token}".encode())]


def test_the_host_passes_its_checks():
    """``manage.py check`` finds nothing to fix without any hashids or realtime settings."""
    call_command("check", fail_level="WARNING")


@pytest.mark.parametrize("collection", ["posts", "pins"])
async def test_streams_are_named_by_the_id_rest_serves(collection):
    """A post is ``post.<pk>``, a pin ``pin.<hashid>``: the ``id`` of its REST body, which its detail URL takes."""
    _, rest, token = await sync_to_async(author)()
    created = (await sync_to_async(rest.post)(f"/api/{collection}/", {"text": "hi"}, format="json")).json()
    object_type = collection[:-1]
    assert isinstance(created["id"], int if object_type == "post" else str)
    ws = await handshake(application, headers=token)
    *replayed, subscribed = await request(
        ws, {"action": "subscribe", "object_type": object_type, "id": str(created["id"]), "since": 0}
    )
    assert subscribed["stream"] == f"{object_type}.{created['id']}"
    assert [frame["payload"] for frame in replayed] == [created]
    patched = await sync_to_async(rest.patch)(f"/api/{collection}/{created['id']}/", {"text": "hey"}, format="json")
    event = await ws.receive_json_from(timeout=5)
    assert event["payload"] == patched.json() == {"id": created["id"], "text": "hey"}
    await ws.disconnect()


async def test_inbox_and_the_rest_log():
    """The inbox (``user.<hashid>``, salt derived from SECRET_KEY) gets notifications; the REST log replays a post."""
    user, rest, token = await sync_to_async(author)()
    post = (await sync_to_async(rest.post)("/api/posts/", {"text": "hi"}, format="json")).json()
    ws = await handshake(application, headers=token)
    assert (await request(ws, {"action": "subscribe", "object_type": "inbox"}))[-1]["type"] == "subscribed"
    await sync_to_async(events.send)(MENTIONED, users=[user], title="You were mentioned")
    notification = await ws.receive_json_from(timeout=5)
    assert notification["payload"]["title"] == "You were mentioned"
    inbox = (await sync_to_async(rest.get)("/api/notifications/")).json()
    assert [entry["payload"]["title"] for entry in inbox["results"]] == ["You were mentioned"]
    log = (await sync_to_async(rest.get)(f"/api/notifications/?stream=post.{post['id']}")).json()
    assert [entry["payload"] for entry in log["results"]] == [post]
    await ws.disconnect()
