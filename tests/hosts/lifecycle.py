"""One object's whole life through a host's REST API, checked against what its subscribers receive.

``lifecycle`` is the common proof for every shape: an object created,
patched, changed in a many-to-many field, replaced (PUT) and deleted over
REST reaches a WebSocket subscriber as one event per write, each payload
equal to the REST GET representation at that point (without the REST-only
``stream`` field); every write's response carries the seq of its event; a
late subscriber replays in-band with ``since``; a user whose REST detail
view answers 404 cannot subscribe, and receives nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async

from realtime.registry import registry
from tests.hosts.conftest import Connect, next_event, rest_client, subscribe, without_stream
from tests.hosts.shapes.models import Note

Body = dict[str, Any]


@dataclass
class Shape:
    """How to drive one live model's REST API."""

    object_type: str
    #: The list URL, e.g. ``/hosts/notes/``.
    collection: str
    #: The POST body (given the test's objects, as for ``m2m``).
    create: Callable[[dict[str, Any]], Body]
    #: A PATCH of a tracked field.
    change: Body
    #: A PATCH of the many-to-many field (given the test's objects: ``owner``, ``stranger``, ``reader``, ``label``).
    m2m: Callable[[dict[str, Any]], Body]
    #: The REST field that holds the object's public id (what clients subscribe with).
    id_field: str = "id"
    #: The REST field that names the detail URL (the viewset's ``lookup_field``).
    lookup_field: str = "id"
    #: Extra request headers, sent over REST and in the handshake alike.
    headers: dict[str, str] = field(default_factory=dict)
    #: Extra query string of the socket URL and of REST GETs.
    query: str = ""


@dataclass
class Lived:
    """What ``lifecycle`` saw: the REST bodies and the frames, for shape-specific assertions."""

    stream: str
    detail: str
    created: Body
    events: list[dict[str, Any]]


def _environ(headers: dict[str, str]) -> dict[str, str]:
    return {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}


async def lifecycle(shape: Shape, connect: Connect, users: dict[str, Any]) -> Lived:
    """Create, PATCH, PATCH m2m, PUT and DELETE an object of ``users["owner"]``; see the module docstring."""
    owner, stranger = users["owner"], users["stranger"]
    rest = await sync_to_async(rest_client)(owner, **_environ(shape.headers))
    query = f"?{shape.query}" if shape.query else ""

    async def call(method: str, url: str, body: Body | None = None, status: int = 200) -> Body:
        response = await sync_to_async(getattr(rest, method))(url, body, format="json")
        assert response.status_code == status, (method, url, response.status_code, response.content[:500])
        return response.json() if response.content else {}

    created = await call("post", shape.collection, shape.create(users), status=201)
    public_id = str(created[shape.id_field])
    stream = f"{shape.object_type}.{public_id}"
    assert (created["stream"]["name"], created["stream"]["seq"]) == (stream, 1), created
    detail = f"{shape.collection}{created[shape.lookup_field]}/"

    async def get(seq: int) -> Body:
        """The REST GET, which must be at ``seq`` of the stream; without its ``stream`` field."""
        body = await call("get", detail + query)
        assert body["stream"] == {"name": stream, "seq": seq, "epoch": created["stream"]["epoch"]}, body["stream"]
        return without_stream(body)

    # The stranger: REST says 404, so subscribing fails; a sentinel of their own shows nothing else reached them.
    stranger_rest = await sync_to_async(rest_client)(stranger, **_environ(shape.headers))
    assert (await sync_to_async(stranger_rest.get)(detail + query)).status_code == 404
    outsider = await connect(stranger, headers=shape.headers, query=shape.query)
    refused = await subscribe(outsider, shape.object_type, public_id, since=0)
    assert [(f["type"], f.get("code")) for f in refused] == [("error", "not_found")], refused
    sentinel = await sync_to_async(Note.objects.create)(owner=stranger, title="sentinel")
    assert (await subscribe(outsider, "note", sentinel.pk))[-1]["type"] == "subscribed"

    # The owner subscribes from seq 0: the create event is replayed in-band, then `subscribed`.
    ws = await connect(owner, headers=shape.headers, query=shape.query)
    *replayed, subscribed = await subscribe(ws, shape.object_type, public_id, since=0, epoch=created["stream"]["epoch"])
    assert subscribed["type"] == "subscribed", subscribed
    assert (subscribed["stream"], subscribed["seq"], subscribed["recovered"]) == (stream, 1, True)
    prefix = shape.object_type.upper()
    assert [f["type"] for f in replayed] == [f"CREATE_{prefix}"]
    assert replayed[0]["payload"] == await get(1) == without_stream(created)
    events = [*replayed]

    async def write(method: str, body: Body, seq: int) -> None:
        answer = await call(method, detail, body)
        event = await next_event(ws)
        assert (event["type"], event["meta"]["stream"], event["meta"]["seq"]) == (f"UPDATE_{prefix}", stream, seq)
        assert answer["stream"]["seq"] == seq, answer["stream"]
        assert event["payload"] == await get(seq) == without_stream(answer)
        events.append(event)

    await write("patch", shape.change, 2)
    await write("patch", shape.m2m(users), 3)  # one event for the m2m PATCH: its final state
    state = await get(3)
    await write("put", {**shape.create(users), **shape.change, **shape.m2m(users), **_writable(state)}, 4)

    # A late subscriber with `since` replays exactly the events after it, as they were sent live; not across
    # the m2m PATCH (seq 3) when that field decides who may see the object (a visibility change).
    late = await connect(owner, headers=shape.headers, query=shape.query)
    epoch = created["stream"]["epoch"]
    since = 1
    if set(shape.m2m(users)) & set(registry.get(shape.object_type).visibility):
        *missed, refused = await subscribe(late, shape.object_type, public_id, since=since, epoch=epoch)
        assert (missed, refused["recovered"], refused.get("reason")) == ([], False, "visibility"), refused
        since = 2
    *missed, caught_up = await subscribe(late, shape.object_type, public_id, since=since, epoch=epoch)
    assert (caught_up["seq"], caught_up["recovered"], caught_up["replayed"]) == (4, True, 4 - since), caught_up
    assert missed == events[since:]

    await call("delete", detail, status=204)
    deleted, ended = await next_event(ws), await next_event(ws)
    assert (deleted["type"], deleted["meta"]["seq"]) == (f"DELETE_{prefix}", 5), deleted
    assert ended == {"type": "unsubscribed", "stream": stream, "reason": "deleted"}
    events.append(deleted)

    sentinel.title = "sentinel, changed"
    await sync_to_async(sentinel.save)()
    frame = await next_event(outsider)
    assert frame["meta"]["stream"] == f"note.{sentinel.pk}", f"the stranger received {frame}"
    return Lived(stream=stream, detail=detail, created=created, events=events)


def _writable(state: Body) -> Body:
    """The title of a PUT: a change of its own, so that it is an event."""
    return {"title": f"{state['title']} (replaced)"}
