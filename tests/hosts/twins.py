"""Sockets and their REST twins: the same user, credential, headers and query string must see the same objects.

``assert_twins_agree`` opens one socket per case, and for each object GETs
its REST detail with the case's twin client and subscribes on the socket:
the subscribe succeeds exactly when the GET answers 200 (and fails with
``not_found`` when it answers 403 or 404). Then every object changes, and
each socket must receive the events of exactly the objects it may see, and
nothing else before a sentinel of its own (a ``Card`` of its user, which no
header or query rule hides).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth.models import AbstractUser
from django.db import transaction

from tests.hosts.conftest import Connect, rest_client, session_cookie, subscribe
from tests.hosts.shapes.models import Card


@dataclass
class Twin:
    user: AbstractUser
    #: The names of the objects this client may see.
    visible: set[str]
    #: Authenticate with a session cookie instead of a token.
    session: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    query: str = ""


@dataclass
class Target:
    object_type: str
    instance: Any
    #: The REST detail URL.
    detail: str


async def assert_twins_agree(connect: Connect, twins: dict[str, Twin], targets: dict[str, Target]) -> None:
    sockets = {}
    for case, twin in twins.items():
        environ = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in twin.headers.items()}
        rest = await sync_to_async(rest_client)(twin.user, session=twin.session, **environ)
        session = await sync_to_async(session_cookie)(twin.user) if twin.session else None
        ws = await connect(None if twin.session else twin.user, session=session, headers=twin.headers, query=twin.query)
        query = f"?{twin.query}" if twin.query else ""
        for name, target in targets.items():
            status = (await sync_to_async(rest.get)(target.detail + query)).status_code
            reply = (await subscribe(ws, target.object_type, target.instance.pk))[-1]
            seen = (status == 200, reply["type"] == "subscribed")
            assert seen == (name in twin.visible,) * 2, (case, name, status, reply)
            if status != 200:
                assert (status in {403, 404}, reply.get("code")) == (True, "not_found"), (case, name, status, reply)
        sentinel = await sync_to_async(Card.objects.create)(owner=twin.user, title=f"sentinel of {case}")
        assert (await subscribe(ws, "card", sentinel.pk))[-1]["type"] == "subscribed"
        sockets[case] = (ws, sentinel)

    await sync_to_async(_change_all)([target.instance for target in targets.values()], [s for _, s in sockets.values()])
    for case, (ws, sentinel) in sockets.items():
        streams = []
        while (frame := await ws.receive_json_from(timeout=5))["meta"]["stream"] != f"card.{sentinel.pk}":
            streams.append(frame["meta"]["stream"])
        expected = [f"{t.object_type}.{t.instance.pk}" for name, t in targets.items() if name in twins[case].visible]
        assert streams == expected, case


def _change_all(objects: list[Any], sentinels: list[Card]) -> None:
    """Change each object (one transaction each), then every sentinel (one more, committed after them)."""
    for obj in objects:
        obj.title += "!"
        obj.save()
    with transaction.atomic():
        for sentinel in sentinels:
            sentinel.title += "!"
            sentinel.save()
