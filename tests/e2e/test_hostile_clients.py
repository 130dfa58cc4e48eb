"""Hostile and careless clients against real daphne processes (issue 11: items 3, 4, 7 and two "Low" lines).

* a client that never reads cannot grow the server's memory, and is dropped
  after ``SEND_TIMEOUT``; one that reads late sees close code 4408;
* per-user socket cap (4429), per-user message rate and the replay budget
  (``rate_limited``);
* bad frames: one ``error`` frame each (or 4413 for an oversized one), never
  1011, never a traceback in the server's log;
* Redis down: new sockets are refused with 4503, open ones survive a restart;
* a client that leaves while the server is sending is not an error.

``SilentClient`` (bench/hostile.py) is a raw TCP socket speaking WebSocket
through websockets' sans-I/O protocol, so it can leave the server's frames
unread in the kernel.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
import struct
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from asgiref.sync import sync_to_async
from django.db import transaction
from rest_framework.authtoken.models import Token
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from api.models import Foo
from bench.hostile import (
    HOSTILE_FRAMES,
    OVERSIZED,
    SENTINEL,
    SilentClient,
    never_reading_attack,
    probe_frame,
    warm_up,
)
from bench.targets import rss_bytes
from realtime import protocol
from realtime.ids import encode_id
from realtime.models import Notification, Stream
from realtime.registry import CHANGED, registry
from tests.conftest import IN_CI
from tests.e2e.clients import open_socket, receive_frame
from tests.servers import DaphneServer, free_port

pytestmark = pytest.mark.django_db(transaction=True)

MiB = 1 << 20
SEND_TIMEOUT = 2.0
#: autobahn's default: a server whose close frame the client does not answer aborts the connection after this.
CLOSE_HANDSHAKE_TIMEOUT = 1.0
#: How much daphne's RSS may grow while one socket never reads. The socket itself may hold SEND_BUFFER_BYTES
#: (256 KiB) plus one frame in Twisted's buffer (the kernel's socket buffers are not RSS), and one subscribe at a
#: time holds its replay (1,000 rows, a few MiB of Python objects); the rest is allocator slack. Without
#: backpressure every subscribe queues its whole replay (~600 KB), 11 MB a second at 19 subscribes a second.
RSS_BOUND = 16 * MiB


def full_log(server: DaphneServer) -> str:
    return Path(server.log.name).read_text(errors="replace")


def wait_for(condition: Callable[[], Any], *, what: str, timeout: float = 15) -> Any:
    """Poll ``condition`` (an observable fact of the server, never a guess at timing) until it is true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.01)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def open_connections(server: DaphneServer) -> float:
    """The server's ``realtime_connections`` gauge (decremented once a socket's state is released)."""
    text = httpx.get(f"{server.url}/metrics", timeout=5).text
    return float(re.search(r"^realtime_connections (\S+)$", text, re.M).group(1))


async def ping(ws: ClientConnection, request_id: str = "p") -> dict[str, Any]:
    await ws.send(json.dumps({"action": "ping", "request_id": request_id}))
    return await receive_frame(ws)


async def frames_until(ws: ClientConnection, frame_type: str) -> list[dict[str, Any]]:
    frames = [await receive_frame(ws)]
    while frames[-1]["type"] not in (frame_type, "error"):
        frames.append(await receive_frame(ws))
    return frames


def subscribe_message(foo: Foo, **fields: Any) -> dict[str, Any]:
    return {"action": "subscribe", "request_id": "s", "object_type": "foo", "id": encode_id(foo.pk), **fields}


def foo_with_history(owner: Any, events: int) -> Foo:
    """A Foo whose stream logged ``events`` events: its creation, then ``events - 1`` changes of ``bar``.

    The changes are written as ``events - 1`` saves would have logged them (same event, payload and dense
    seqs), in one bulk insert: a save per transaction costs ~4 ms each.
    """
    foo = Foo.objects.create(owner=owner, name="n" * 200, bar="")
    live = registry.get_for_model(Foo)
    stream = Stream.objects.get(name=live.get_stream(foo.pk).name)
    event = live.get_event(CHANGED)
    changes = []
    for seq in range(stream.seq + 1, stream.seq + events):
        foo.bar = str(seq).rjust(200, "b")
        changes.append(
            Notification(
                stream=stream,
                seq=seq,
                event=event.name,
                action_type=event.action_type,
                object_type=live.get_object_type(),
                object_id=foo.pk,
                payload=live.get_payload(foo),
            )
        )
    with transaction.atomic():
        Notification.objects.bulk_create(changes)
        Stream.objects.filter(pk=stream.pk).update(seq=stream.seq + events - 1)
    return foo


@pytest.fixture
def history_foo(alice) -> Foo:
    """A Foo of alice's with 1,000 logged events (REPLAY_LIMIT: `since=0` replays all of them)."""
    return foo_with_history(alice, 1000)


# --- 1a: a client that does not read ----------------------------------------------------------


def test_a_socket_that_never_reads_is_dropped_and_memory_stays_bounded(daphne, token_for, alice, history_foo):
    """`subscribe since=0` on 1,000 events, 19 times a second, never read: RSS bounded, dropped after SEND_TIMEOUT."""
    # No replay budget here, so backpressure alone has to hold the memory.
    server = daphne(env={"REALTIME_SEND_TIMEOUT": str(SEND_TIMEOUT), "REALTIME_REPLAY_RATE": "0"})
    token, foo_id = token_for(alice), encode_id(history_foo.pk)
    warm_up(server.port, token, foo_id)  # one whole replay read by a client: the baseline has every code path
    baseline = rss_bytes(server.process.pid)

    attack = never_reading_attack(
        host="127.0.0.1",
        port=server.port,
        pid=server.process.pid,
        token=token,
        foo_id=foo_id,
        seconds=SEND_TIMEOUT + CLOSE_HANDSHAKE_TIMEOUT + 4,
        rate=19,
        reconnect=False,
    )

    assert attack.drops, f"the server never dropped the socket:\n{server.output()}"
    # The buffer fills on the first subscribe; then SEND_TIMEOUT, the close frame, and the close handshake timeout.
    assert attack.drops[0] < SEND_TIMEOUT + CLOSE_HANDSHAKE_TIMEOUT + 2
    peak = max(rss for _, rss in attack.samples)
    assert peak - baseline < RSS_BOUND, f"RSS grew {(peak - baseline) / MiB:.1f} MiB"
    settled = [rss for t, rss in attack.samples if t > attack.drops[0] + 0.5]
    assert len(settled) >= 4
    assert max(settled) - settled[0] < 2 * MiB, "RSS kept growing after the drop"
    log = full_log(server)
    assert "Closing a WebSocket whose client has not read for 2.0s." in log
    assert "Traceback" not in log


def test_a_slow_reader_receives_close_4408_after_its_unread_frames(daphne, token_for, alice, history_foo):
    """A client that reads only once the server gave up on it finds an unbroken prefix of the replay, then 4408."""
    server = daphne(env={"REALTIME_SEND_TIMEOUT": str(SEND_TIMEOUT), "REALTIME_REPLAY_RATE": "0"})
    client = SilentClient(host="127.0.0.1", port=server.port, headers={"Authorization": f"Token {token_for(alice)}"})
    try:
        # 12 replays of ~600 KB: more than the kernel's socket buffers take (they grow to 4 MiB on loopback).
        for _ in range(12):
            client.send_json(subscribe_message(history_foo, since=0))
        wait_for(lambda: "has not read for" in full_log(server), what="the server to give up on the client")
        frames, code = client.read_until_close()
    finally:
        client.close()
    assert code == protocol.CLOSE_TOO_SLOW
    replays, cut = [], []  # the seqs of each replay the client received whole, and of the one cut by the close
    for frame in frames:
        if frame["type"] == "subscribed":
            replays.append(cut)
            cut = []
        else:
            cut.append(frame["meta"]["seq"])
    assert all(seqs == list(range(1, 1001)) for seqs in replays)
    assert len(replays) < 12
    assert cut == list(range(1, len(cut) + 1))


# --- 1b: per-user limits and the replay budget -------------------------------------------------


async def test_the_fourth_socket_of_a_user_is_closed_with_4429_until_one_closes(daphne, token_for, alice):
    """With MAX_SOCKETS_PER_USER=3 a fourth socket is closed with 4429; once one of three closes, a new one works."""
    server = await sync_to_async(daphne)(env={"REALTIME_MAX_SOCKETS_PER_USER": "3"})
    token = await sync_to_async(token_for)(alice)
    sockets = [await open_socket(server, token) for _ in range(3)]
    try:
        for ws in sockets:
            assert (await ping(ws))["type"] == "pong"  # counted: the cap is taken when a socket opens
        async with await open_socket(server, token) as fourth:
            with pytest.raises(ConnectionClosed) as closed:
                await receive_frame(fourth)
        assert closed.value.rcvd.code == protocol.CLOSE_TOO_MANY_SOCKETS
        await sockets.pop().close()
        await sync_to_async(wait_for)(lambda: open_connections(server) == 2, what="the closed sockets' release")
        sockets.append(await open_socket(server, token))
        assert (await ping(sockets[-1]))["type"] == "pong"
    finally:
        for ws in sockets:
            await ws.close()


async def test_the_message_rate_is_shared_by_a_users_sockets(daphne, token_for, alice, bob):
    """Once one socket used the user's burst, the user's second socket gets rate_limited; another user does not."""
    server = await sync_to_async(daphne)(env={"REALTIME_USER_RATE_BURST": "3", "REALTIME_USER_RATE_LIMIT": "0.01"})
    alice_token, bob_token = await sync_to_async(token_for)(alice), await sync_to_async(token_for)(bob)
    async with (
        await open_socket(server, alice_token) as first,
        await open_socket(server, alice_token) as second,
        await open_socket(server, bob_token) as other,
    ):
        for n in range(3):
            assert await ping(first, f"p{n}") == {"type": "pong", "request_id": f"p{n}"}
        refused = await ping(second, "late")
        assert (refused["type"], refused["code"], refused["request_id"]) == ("error", protocol.RATE_LIMITED, "late")
        assert (await ping(other))["type"] == "pong"


async def test_replays_stop_once_the_replay_budget_is_spent(daphne, token_for, alice):
    """REPLAY_BUDGET=100: two replays of 50 events spend it, the third gets rate_limited; a plain subscribe works."""
    foo = await sync_to_async(foo_with_history)(alice, 50)
    server = await sync_to_async(daphne)(env={"REALTIME_REPLAY_BUDGET": "100", "REALTIME_REPLAY_RATE": "0.01"})
    async with await open_socket(server, await sync_to_async(token_for)(alice)) as ws:
        for _ in range(2):
            await ws.send(json.dumps(subscribe_message(foo, since=0)))
            frames = await frames_until(ws, "subscribed")
            assert (len(frames), frames[-1]["type"], frames[-1]["replayed"]) == (51, "subscribed", 50)
        await ws.send(json.dumps(subscribe_message(foo, since=0)))
        refused = await receive_frame(ws)
        assert (refused["type"], refused["code"]) == ("error", protocol.RATE_LIMITED)
        await ws.send(json.dumps(subscribe_message(foo)))  # no replay asked: not limited by the budget
        assert (await receive_frame(ws))["type"] == "subscribed"


# --- 1c: bad frames ------------------------------------------------------------------------------


async def test_deep_nesting_lone_surrogates_and_binary_get_one_invalid_each(daphne, token_for, alice):
    """JSON nested 1,000 deep, a lone surrogate in any field or key, a binary frame: one `invalid` each, socket open."""
    server = await sync_to_async(daphne)()
    frames = [
        '{"action": "ping", "x": ' + "[" * 1000 + "]" * 1000 + "}",
        '{"action": "ping", "request_id": "\\ud800"}',
        '{"action": "subscribe", "object_type": "\\ud800", "id": "x"}',
        '{"action": "subscribe", "object_type": "foo", "id": "\\ud800"}',
        '{"action": "\\ud800"}',
        '{"action": "ping", "\\ud800": 1}',
        b"\x00\x01binary",
    ]
    async with await open_socket(server, await sync_to_async(token_for)(alice)) as ws:
        for frame in frames:
            await ws.send(frame)
            await ws.send(json.dumps(SENTINEL))
            reply, sentinel = await receive_frame(ws), await receive_frame(ws)
            assert (reply["type"], reply["code"]) == ("error", protocol.INVALID), frame
            assert sentinel == {"type": "pong", "request_id": "sentinel"}, frame
    assert "Traceback" not in full_log(server)


async def test_every_hostile_frame_gets_one_error_or_a_documented_close(daphne, token_for, alice):
    """~45 hostile frames (types, huge numbers, nesting, unicode, oversized: 4413): each as expected, no traceback."""
    foo = await sync_to_async(Foo.objects.create)(owner=alice, name="target")
    server = await sync_to_async(daphne)()
    token = await sync_to_async(token_for)(alice)
    outcomes = [
        await probe_frame(
            frame,
            ws_url=server.ws_url,
            origin=f"http://127.0.0.1:{server.port}",
            token=token,
            foo_id=encode_id(foo.pk),
            log=Path(server.log.name),
        )
        for frame in [*HOSTILE_FRAMES, OVERSIZED]
    ]
    wrong = [f"{o.frame.name}: expected {o.frame.expect}, got {o.got}" for o in outcomes if not o.ok]
    assert not wrong, f"{len(wrong)} of {len(outcomes)} frames misbehaved:\n" + "\n".join(wrong)
    assert not [o for o in outcomes if o.close_code == 1011]
    assert "Traceback" not in full_log(server)


# --- 1d: Redis down and back ---------------------------------------------------------------------


class RedisProcess:
    """A private redis-server on a free port (the shared one is never stopped)."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            if IN_CI:
                pytest.fail("CI=true but redis-server is not installed", pytrace=False)
            pytest.skip("needs the redis-server binary")
        self.port = free_port()
        self.command = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [*self.command, "--dir", str(self.directory)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

        def answers() -> bool:
            try:
                return redis.Redis(port=self.port, socket_timeout=1).ping()
            except redis.RedisError:
                return False

        wait_for(answers, what="redis-server to answer")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    server = RedisProcess(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_redis_down_refuses_new_sockets_with_4503_and_open_ones_survive_a_restart(
    daphne, token_for, alice, own_redis
):
    """Redis killed: a new socket closes with 4503 (one warning, no traceback); restarted: all sockets work again."""
    foo = await sync_to_async(Foo.objects.create)(owner=alice, name="survivor")
    server = await sync_to_async(daphne)(
        env={"REDIS_URL": own_redis.url, "CHANNEL_LAYER_PREFIX": "hostile", "REALTIME_SYNC_INTERVAL": "0.5"}
    )
    token = await sync_to_async(token_for)(alice)
    survivor = await open_socket(server, token)
    try:
        await survivor.send(json.dumps(subscribe_message(foo)))
        assert (await receive_frame(survivor))["type"] == "subscribed"

        await sync_to_async(own_redis.stop)()
        # A socket opened in the instant before the layer notices is accepted (channels-redis queues its SUBSCRIBE
        # for the reconnect, and it works once Redis is back); from then on new sockets are refused.
        for _ in range(50):
            async with await open_socket(server, token) as opened:  # the handshake succeeds: no HTTP 500 ...
                try:
                    await ping(opened)
                except ConnectionClosed as closed:
                    code = closed.rcvd.code
                    break
        else:
            raise AssertionError(f"no new socket was refused while Redis was down:\n{server.output()}")
        assert code == protocol.CLOSE_TRY_AGAIN  # ... and the socket is closed with "try again"
        log = full_log(server)
        refusals = [line for line in log.splitlines() if "Refusing a WebSocket" in line]
        assert len(refusals) == 1, refusals
        assert " WARNING realtime.consumers " in refusals[0]
        assert "Traceback" not in log.split(refusals[0], 1)[1].split("\n", 2)[1]  # a line, not a traceback
        assert "Exception inside application" not in log
        await sync_to_async(own_redis.start)()
        # The layer's connection to the restarted Redis comes back on its own, within a moment: until then a new
        # socket is still refused with 4503 (and its client comes back later), never failed.
        deadline = time.monotonic() + 15
        while True:
            async with await open_socket(server, token) as fresh:
                try:
                    answer, code = (await ping(fresh))["type"], None
                except ConnectionClosed as closed:
                    answer, code = None, closed.rcvd.code
            if answer is not None:
                break
            assert code == protocol.CLOSE_TRY_AGAIN
            assert time.monotonic() < deadline, f"no new socket accepted after Redis came back:\n{full_log(server)}"
            await asyncio.sleep(0.2)
        assert answer == "pong"
        assert (await ping(survivor))["type"] == "pong"
        async with httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Token {token}"}) as http:
            response = await http.patch(f"/api/foo/{encode_id(foo.pk)}", json={"bar": "after the restart"})
        assert response.status_code == 200, response.text
        event = await receive_frame(survivor, seconds=15)  # live from the layer, or filled by the stream watcher
        assert (event["type"], event["payload"]["bar"]) == ("UPDATE_FOO", "after the restart")
    finally:
        await survivor.close()
    log = full_log(server)
    assert "Exception inside application" not in log
    assert "Receiving from the channel layer failed" not in log


# --- 1e: a client that leaves while the server sends ------------------------------------------


def test_a_client_leaving_during_a_replay_is_not_an_error(daphne, token_for, alice, history_foo):
    """Leave (with a close frame, or a reset) right after a subscribe that replays 1,000 events: no error logged."""
    server = daphne()
    headers = {"Authorization": f"Token {token_for(alice)}"}
    for clean in (True, False) * 2:
        client = SilentClient(host="127.0.0.1", port=server.port, headers=headers, rcvbuf=256 * 1024)
        client.send_json(subscribe_message(history_foo, since=0))
        wait_for(client.unread_bytes, what="the replay to begin")
        if clean:
            client.protocol.send_close(1000)
            client.pending += b"".join(client.protocol.data_to_send())
            client.flush()
        else:
            client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with RST
        client.close()
        wait_for(lambda: open_connections(server) == 0, what="the socket's release")
    log = full_log(server)
    assert " ERROR " not in log
    assert "Traceback" not in log


@pytest.mark.redis
async def test_an_event_for_a_socket_the_server_is_closing_is_not_an_error(daphne, token_for, alice, bob):
    """Token deleted: the server closes with 4403; an event during the close handshake is no ERROR "closed protocol"."""
    foo = await sync_to_async(Foo.objects.create)(owner=alice, name="shared")
    await sync_to_async(foo.members.add)(bob)
    server = await sync_to_async(daphne)()
    alice_token, bob_token = await sync_to_async(token_for)(alice), await sync_to_async(token_for)(bob)
    # A client that does not answer the server's close frame: for the close handshake timeout the protocol is
    # closing while daphne still delivers the socket's messages.
    client = SilentClient(host="127.0.0.1", port=server.port, headers={"Authorization": f"Token {bob_token}"})
    try:
        client.send_json(subscribe_message(foo))
        subscribed = await sync_to_async(wait_for)(client.unread_bytes, what="`subscribed`")
        await sync_to_async(Token.objects.filter(key=bob_token).delete)()  # the recheck goes out through Redis
        await sync_to_async(wait_for)(lambda: client.unread_bytes() > subscribed, what="the close frame (4403)")
        async with httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Token {alice_token}"}) as http:
            response = await http.patch(f"/api/foo/{encode_id(foo.pk)}", json={"bar": "to a closing socket"})
        assert response.status_code == 200
        # The event reaches the consumer before the handshake times out (1 s) and the socket is released.
        await sync_to_async(wait_for)(lambda: open_connections(server) == 0, what="the socket's release")
    finally:
        client.close()
    log = full_log(server)
    assert not re.search(r"ERROR.*Attempt to send on a closed protocol", log)
    assert "Traceback" not in log
