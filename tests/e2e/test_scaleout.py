"""Scale-out: two daphne processes on one Redis and one PostgreSQL lose nothing and keep every stream in order.

50 WebSocket clients are spread over both processes, each subscribed to two
of five Foos; concurrent REST changes go through both processes. Every
client must receive every event of its streams exactly once, in seq order.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.db import connection

from api.models import Foo
from realtime.ids import encode_id
from realtime.models import Stream
from tests.e2e.clients import api, api_token, open_socket, receive_frame
from tests.servers import DaphneServer

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

CLIENTS = 50
FOOS = 5
CHANGES_PER_FOO = 12


@sync_to_async
def stream_heads(foos: list[Foo]) -> dict[str, int]:
    """The current seq of each Foo's stream (closing this thread's connection, so teardown can drop the database)."""
    try:
        rows = Stream.objects.filter(object_type="foo", object_id__in=[f.pk for f in foos]).values_list("name", "seq")
        return dict(rows)
    finally:
        connection.close()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[DaphneServer]]:
    """Two daphne processes sharing a Prometheus multiprocess directory."""
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    started = [DaphneServer(env=env), DaphneServer(env=env)]
    try:
        for server in started:
            server.start()
        yield started
    finally:
        for server in started:
            server.stop()


async def test_fifty_clients_on_two_processes_receive_every_event_in_order(servers, alice, bob):
    """Changes made through either process reach every subscriber on both, each stream dense and in order."""
    foos = [await sync_to_async(Foo.objects.create)(owner=alice, name=f"foo {i}") for i in range(FOOS)]
    for foo in foos:
        await sync_to_async(foo.members.add)(bob)
    tokens = {"alice": await api_token(alice), "bob": await api_token(bob)}
    heads = await stream_heads(foos)

    # 50 clients, alternating users and processes, each on two Foos, subscribed from the current head.
    sockets, wanted = [], []
    for i in range(CLIENTS):
        socket = await open_socket(servers[i % 2], tokens["alice" if i % 3 else "bob"])
        streams = []
        for foo in (foos[i % FOOS], foos[(i + 1) % FOOS]):
            name = f"foo.{encode_id(foo.pk)}"
            await socket.send(
                f'{{"action": "subscribe", "object_type": "foo", "id": "{encode_id(foo.pk)}", "since": {heads[name]}}}'
            )
            streams.append(name)
        sockets.append(socket)
        wanted.append(streams)
    for socket in sockets:
        for _ in range(2):
            assert (await receive_frame(socket, 30))["type"] == "subscribed"

    # Concurrent PATCHes through both processes, several writers per Foo at once.
    clients = [api(server, tokens["alice"]) for server in servers]
    limit = asyncio.Semaphore(8)

    async def change(n: int, foo: Foo) -> None:
        async with limit:
            response = await clients[n % 2].patch(f"/api/foo/{encode_id(foo.pk)}", json={"bar": f"change {n}"})
            assert response.status_code == 200, response.text

    await asyncio.gather(*(change(n, foo) for n in range(CHANGES_PER_FOO) for foo in foos))
    for client in clients:
        await client.aclose()
    final = await stream_heads(foos)
    assert {name: final[name] - heads[name] for name in final} == dict.fromkeys(final, CHANGES_PER_FOO)

    async def collect(socket, streams: list[str]) -> dict[str, list[int]]:
        seen: dict[str, list[int]] = defaultdict(list)
        while any(len(seen[name]) < final[name] - heads[name] for name in streams):
            frame = await receive_frame(socket, 30)
            seen[frame["meta"]["stream"]].append(frame["meta"]["seq"])
        return seen

    results = await asyncio.gather(*(collect(s, streams) for s, streams in zip(sockets, wanted, strict=True)))
    for seen, streams in zip(results, wanted, strict=True):
        for name in streams:
            assert seen[name] == list(range(heads[name] + 1, final[name] + 1)), name

    # Either process reports both processes' sockets (PROMETHEUS_MULTIPROC_DIR).
    async with api(servers[0], tokens["alice"]) as client:
        metrics = (await client.get("/metrics")).text
    assert f"\nrealtime_connections {float(CLIENTS)}\n" in metrics
    assert f"\nrealtime_subscriptions {float(2 * CLIENTS)}\n" in metrics
    for socket in sockets:
        await socket.close()
