"""``python -m bench.hostile``: one daphne process attacked by a client that never reads, and by hostile frames.

Two measurements of one server checkout (``--root``, default this one; an
older commit checked out in a temporary worktree measures "before"):

* **memory**: a raw TCP client with a tiny receive buffer that never reads
  sends ``subscribe since=0`` on a stream of ``--events`` logged events
  ``--rate`` times a second (under the per-socket rate limit) for
  ``--seconds``; when the server drops it, it connects again. The daphne
  process's RSS (``/proc/<pid>/status`` VmRSS) is sampled throughout.
* **frames**: every frame of ``HOSTILE_FRAMES`` on a fresh socket, then a
  ``ping``: what came back (error frames, pong, close code) and whether the
  server logged a traceback.

The database named by ``BENCH_DATABASE_URL`` (default
``postgres://postgres@127.0.0.1:5432/realtime_hostile_bench``) is dropped and
created afresh on every run; ``BENCH_REDIS_URL`` (default: none, the
in-memory layer) and ``CHANNEL_LAYER_PREFIX`` pick the channel layer.
``REALTIME_*`` settings given with ``--set`` reach the server only if its
checkout knows them (an older checkout refuses unknown ones).

``SilentClient`` and ``HOSTILE_FRAMES`` are also what
``tests/e2e/test_hostile_clients.py`` attacks with.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import json
import os
import re
import secrets
import socket
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.typing import Origin
from websockets.uri import parse_uri

from bench.targets import ROOT, ServerProcess, daphne_command, free_port, rss_bytes

#: TCP states in ``struct tcp_info`` (linux/tcp_states.h).
TCP_ESTABLISHED, TCP_CLOSE, TCP_CLOSE_WAIT = 1, 7, 8


class SilentClient:
    """A WebSocket client on a raw TCP socket that never reads unless asked to (``read_until_close``).

    websockets' sans-I/O protocol does the handshake and masks the frames;
    this class only moves bytes. The receive buffer is set before connecting,
    so the window the client advertises stays tiny: whatever the server sends
    beyond a few KiB stays on the server.
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        path: str = "/ws/notifications/",
        headers: dict[str, str] | None = None,
        rcvbuf: int = 4096,
        timeout: float = 10,
    ) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        self.protocol = ClientProtocol(
            parse_uri(f"ws://{host}:{port}{path}"), origin=Origin(f"http://{host}:{port}"), max_size=None
        )
        request = self.protocol.connect()
        for name, value in (headers or {}).items():
            request.headers[name] = value
        self.protocol.send_request(request)
        self.sock.sendall(b"".join(self.protocol.data_to_send()))
        self.events: list[Frame] = []
        self.response: Response | None = None
        while self.response is None:
            data = self.sock.recv(4096)  # the handshake response only: the server sends nothing before a request
            if not data:
                raise ConnectionError("the server closed the connection during the handshake")
            self.protocol.receive_data(data)
            for event in self.protocol.events_received():
                if isinstance(event, Response):
                    self.response = event
                else:
                    self.events.append(event)
        if self.protocol.handshake_exc is not None:
            raise self.protocol.handshake_exc
        self.sock.setblocking(False)
        self.pending = b""
        self.sent = 0

    def send_json(self, message: dict[str, Any]) -> bool:
        """Queue one masked text frame and write what the kernel takes; ``False`` once the connection is gone."""
        self.protocol.send_text(json.dumps(message).encode())
        self.pending += b"".join(self.protocol.data_to_send())
        return self.flush()

    def flush(self) -> bool:
        try:
            while self.pending:
                written = self.sock.send(self.pending)
                self.pending = self.pending[written:]
                self.sent += written
        except BlockingIOError:
            pass  # the server stopped reading us: keep the rest
        except OSError:
            return False
        return self.tcp_state() == TCP_ESTABLISHED

    def unread_bytes(self) -> int:
        """How many received bytes the kernel holds for this client, without reading them (``FIONREAD``)."""
        return struct.unpack("i", fcntl.ioctl(self.sock, termios.FIONREAD, b"\0" * 4))[0]

    def tcp_state(self) -> int:
        """The kernel's state of the connection, read without reading any data (``TCP_INFO``)."""
        return self.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0]

    def read_until_close(self, timeout: float = 10) -> tuple[list[dict[str, Any]], int | None]:
        """Read everything now: the text frames received and the close code (``None``: no close frame came).

        The receive buffer grows first (up to the 64 KiB window the connection can advertise), so the client
        drains the server's backlog in few round trips.
        """
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.settimeout(timeout)
        frames: list[dict[str, Any]] = []
        try:
            while True:
                for event in [*self.events, *self.protocol.events_received()]:
                    if event.opcode is Opcode.TEXT:
                        frames.append(json.loads(event.data))
                self.events = []
                if self.protocol.close_rcvd is not None:
                    return frames, self.protocol.close_rcvd.code
                data = self.sock.recv(65536)
                if not data:
                    return frames, None
                self.protocol.receive_data(data)
        except OSError:  # reset (the server gave up on the close handshake) or timed out
            return frames, None

    def close(self) -> None:
        self.sock.close()


# --- hostile frames -------------------------------------------------------------------


@dataclass(frozen=True)
class HostileFrame:
    """One frame a hostile client sends, and what the server must answer: ``error:<code>`` or ``close:<code>``."""

    name: str
    #: Text (``{ID}`` is replaced by a Foo the user may see) or bytes (a binary frame).
    data: str | bytes
    expect: str


def _nested(depth: int, opening: str, closing: str, inner: str = "1") -> str:
    return opening * depth + inner + closing * depth


def _subscribe(**fields: Any) -> str:
    return json.dumps({"action": "subscribe", "object_type": "foo", "id": "{ID}", **fields})


#: ~40 frames, each of which is one client mistake: one ``error`` frame, or the documented close code.
HOSTILE_FRAMES: list[HostileFrame] = [
    HostileFrame("not JSON", "{oops", "error:invalid"),
    HostileFrame("empty text", "", "error:invalid"),
    HostileFrame("JSON array", "[]", "error:invalid"),
    HostileFrame("JSON string", '"subscribe"', "error:invalid"),
    HostileFrame("JSON number", "42", "error:invalid"),
    HostileFrame("JSON null", "null", "error:invalid"),
    HostileFrame("empty object", "{}", "error:invalid"),
    HostileFrame("unknown action", '{"action": "explode"}', "error:invalid"),
    HostileFrame("action is a number", '{"action": 1}', "error:invalid"),
    HostileFrame("action is null", '{"action": null}', "error:invalid"),
    HostileFrame("action is a list", '{"action": ["subscribe"]}', "error:invalid"),
    HostileFrame("action is an object", '{"action": {"subscribe": true}}', "error:invalid"),
    HostileFrame("subscribe without object_type", '{"action": "subscribe", "id": "{ID}"}', "error:invalid"),
    HostileFrame(
        "unknown object_type", '{"action": "subscribe", "object_type": "nope", "id": "{ID}"}', "error:invalid"
    ),
    HostileFrame("object_type is a number", '{"action": "subscribe", "object_type": 5, "id": "{ID}"}', "error:invalid"),
    HostileFrame("subscribe without id", '{"action": "subscribe", "object_type": "foo"}', "error:invalid"),
    HostileFrame("id is a list", '{"action": "subscribe", "object_type": "foo", "id": ["{ID}"]}', "error:invalid"),
    HostileFrame(
        "id is 2**64", '{"action": "subscribe", "object_type": "foo", "id": 18446744073709551616}', "error:invalid"
    ),
    HostileFrame("id is not a hashid", '{"action": "subscribe", "object_type": "foo", "id": "zz"}', "error:not_found"),
    HostileFrame("id is empty", '{"action": "subscribe", "object_type": "foo", "id": ""}', "error:invalid"),
    HostileFrame(
        "id is emoji and RTL text",
        '{"action": "subscribe", "object_type": "foo", "id": "\U0001f4a5\u202e"}',
        "error:not_found",
    ),
    HostileFrame(
        "id with a NUL byte", '{"action": "subscribe", "object_type": "foo", "id": "ab\\u0000c"}', "error:invalid"
    ),
    HostileFrame("since is 2**64", _subscribe(since=2**64), "error:invalid"),
    HostileFrame("since is 2**63", _subscribe(since=2**63), "error:invalid"),
    HostileFrame("since is -1", _subscribe(since=-1), "error:invalid"),
    HostileFrame("since is a string", _subscribe(since="abc"), "error:invalid"),
    HostileFrame("since is 1e308", _subscribe(since=1e308), "error:invalid"),
    HostileFrame("since is NaN", _subscribe().replace("}", ', "since": NaN}'), "error:invalid"),
    HostileFrame("since is Infinity", _subscribe().replace("}", ', "since": -Infinity}'), "error:invalid"),
    HostileFrame("since is true", _subscribe(since=True), "error:invalid"),
    HostileFrame("since is a list", _subscribe(since=[1]), "error:invalid"),
    HostileFrame("epoch is an object", _subscribe(since=0, epoch={"a": 1}), "error:invalid"),
    HostileFrame("request_id is an object", '{"action": "ping", "request_id": {"a": 1}}', "error:invalid"),
    HostileFrame(
        "request_id of 10,000 characters", json.dumps({"action": "ping", "request_id": "r" * 10_000}), "error:invalid"
    ),
    HostileFrame(
        "arrays nested 1,000 deep", '{"action": "ping", "x": ' + _nested(1000, "[", "]") + "}", "error:invalid"
    ),
    HostileFrame("objects nested 1,000 deep", _nested(1000, '{"a": ', "}"), "error:invalid"),
    HostileFrame("lone surrogate in request_id", '{"action": "ping", "request_id": "\\ud800"}', "error:invalid"),
    HostileFrame("lone surrogate in action", '{"action": "\\ud800"}', "error:invalid"),
    HostileFrame(
        "lone surrogate in object_type", '{"action": "subscribe", "object_type": "\\ud800", "id": "x"}', "error:invalid"
    ),
    HostileFrame(
        "lone surrogate in id", '{"action": "subscribe", "object_type": "foo", "id": "\\udfff"}', "error:invalid"
    ),
    HostileFrame("lone surrogate in a key", '{"action": "ping", "\\ud800": 1}', "error:invalid"),
    HostileFrame(
        "unsubscribe unknown object_type", '{"action": "unsubscribe", "object_type": "nope"}', "error:invalid"
    ),
    HostileFrame("binary frame", b"\x00\x01binary", "error:invalid"),
    HostileFrame("binary frame of JSON", b'{"action": "ping"}', "error:invalid"),
]

#: A frame over the default ``MAX_FRAME_BYTES`` (16 KiB): the socket is closed with 4413.
OVERSIZED = HostileFrame(
    "frame over MAX_FRAME_BYTES", json.dumps({"action": "ping", "pad": "x" * 20_000}), "close:4413"
)

SENTINEL = {"action": "ping", "request_id": "sentinel"}


@dataclass
class Outcome:
    """What one hostile frame got back, up to the ``pong`` of the sentinel ping (or the close)."""

    frame: HostileFrame
    errors: list[dict[str, Any]] = field(default_factory=list)
    others: list[dict[str, Any]] = field(default_factory=list)
    pong: bool = False
    close_code: int | None = None
    traceback: bool = False

    @property
    def got(self) -> str:
        if self.close_code is not None:
            return f"close:{self.close_code}"
        if len(self.errors) == 1 and not self.others and self.pong:
            return f"error:{self.errors[0]['code']}"
        kinds = [frame.get("code", frame.get("type")) for frame in self.errors + self.others]
        return f"frames:{kinds} pong:{self.pong}"

    @property
    def crashed(self) -> bool:
        """The server failed on it: close 1011 or 4500, a traceback, or a socket that no longer answers."""
        return self.traceback or self.close_code in {1011, 4500, 1006} or (self.close_code is None and not self.pong)

    @property
    def ok(self) -> bool:
        return self.got == self.frame.expect and not self.traceback


async def probe_frame(
    frame: HostileFrame, *, ws_url: str, origin: str, token: str, foo_id: str, log: Path, wait: float = 10
) -> Outcome:
    """Send ``frame`` on a fresh socket, then the sentinel ping; collect the answers and the server's log."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    outcome = Outcome(frame)
    log_start = (await asyncio.to_thread(log.stat)).st_size
    data = frame.data.replace("{ID}", foo_id) if isinstance(frame.data, str) else frame.data
    async with connect(
        ws_url, origin=Origin(origin), additional_headers={"Authorization": f"Token {token}"}, max_size=None
    ) as ws:
        try:
            await ws.send(data)
            await ws.send(json.dumps(SENTINEL))
            async with asyncio.timeout(wait):
                while True:
                    reply = json.loads(await ws.recv())
                    if reply == {"type": "pong", "request_id": "sentinel"}:
                        outcome.pong = True
                        break
                    (outcome.errors if reply.get("type") == "error" else outcome.others).append(reply)
        except ConnectionClosed as closed:
            outcome.close_code = closed.rcvd.code if closed.rcvd is not None else 1006
        except TimeoutError:
            pass
    await asyncio.sleep(0.05)  # let the server's log catch up (a traceback is written after the close)
    outcome.traceback = b"Traceback" in (await asyncio.to_thread(log.read_bytes))[log_start:]
    return outcome


# --- the memory attack -----------------------------------------------------------------


@dataclass
class Attack:
    """RSS samples (seconds since the start, bytes) and what happened to the attacker's sockets."""

    samples: list[tuple[float, int]] = field(default_factory=list)
    drops: list[float] = field(default_factory=list)
    subscribes: int = 0

    def peak(self) -> int:
        return max(rss for _, rss in self.samples)


def never_reading_attack(
    *,
    host: str,
    port: int,
    pid: int,
    token: str,
    foo_id: str,
    seconds: float,
    rate: float = 19,
    reconnect: bool = True,
    sample_every: float = 0.25,
) -> Attack:
    """Send ``subscribe since=0`` ``rate`` times a second from a client that never reads, sampling RSS."""
    headers = {"Authorization": f"Token {token}"}
    attack = Attack()
    start = time.monotonic()
    client: SilentClient | None = SilentClient(host=host, port=port, headers=headers)
    next_send = next_sample = start
    n = 0
    while (now := time.monotonic()) - start < seconds:
        if now >= next_sample:
            attack.samples.append((now - start, rss_bytes(pid)))
            next_sample += sample_every
        if now >= next_send:
            next_send += 1 / rate
            if client is None and reconnect:
                client = SilentClient(host=host, port=port, headers=headers)
            if client is not None:
                n += 1
                alive = client.send_json(
                    {"action": "subscribe", "request_id": n, "object_type": "foo", "id": foo_id, "since": 0}
                )
                attack.subscribes += 1
                if not alive:
                    attack.drops.append(now - start)
                    client.close()
                    client = None
        time.sleep(max(0.0, min(next_send, next_sample) - time.monotonic()))
    if client is not None:
        client.close()
    return attack


# --- running it against a checkout -----------------------------------------------------

SEED = """
import json
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from api.models import Foo
from realtime.ids import encode_id
from realtime.models import Stream

user = get_user_model().objects.create_user("attacker", password="attacker-pw")
foo = Foo.objects.create(owner=user, name="n" * 200, bar="")
for n in range({events} - 1):
    foo.bar = str(n).rjust(200, "b")
    foo.save()
print(json.dumps({{
    "token": Token.objects.create(user=user).key,
    "foo": encode_id(foo.pk),
    "head": Stream.objects.order_by("-seq").values_list("seq", flat=True).first(),
}}))
"""


def known_settings(root: Path) -> set[str]:
    """The ``REALTIME_*`` keys the checkout at ``root`` defines (``realtime/conf.py`` DEFAULTS)."""
    return set(re.findall(r'^\s+"([A-Z_]+)":', (root / "realtime" / "conf.py").read_text(), re.M))


def prepare(root: Path, *, database_url: str, redis_url: str, events: int, settings: dict[str, str]) -> dict[str, Any]:
    from bench.harness import recreate_database

    recreate_database(database_url)
    known = known_settings(root)
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CHANNEL_LAYER_PREFIX": os.environ.get("CHANNEL_LAYER_PREFIX", "hostilebench"),
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "HASHIDS_SALT": secrets.token_urlsafe(12),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "INFO",
        **{f"REALTIME_{key}": value for key, value in settings.items() if key in known},
    }
    python = [sys.executable, "manage.py"]
    run_env = {**os.environ, **env}
    subprocess.run([*python, "migrate", "-v", "0"], cwd=root, env=run_env, check=True)
    seeded = subprocess.run(
        [*python, "shell", "-c", SEED.format(events=events)],
        cwd=root,
        env=run_env,
        check=True,
        capture_output=True,
        text=True,
    )
    return {"env": env, "ignored": sorted(set(settings) - known), **json.loads(seeded.stdout.strip().splitlines()[-1])}


def start_daphne(root: Path, env: dict[str, str]) -> ServerProcess:
    """daphne serving the checkout at ``root``."""
    return ServerProcess([*daphne_command(), "project.asgi:application"], port=free_port(), env=env, cwd=root).start()


def warm_up(port: int, token: str, foo_id: str) -> None:
    """One well-behaved client reads a whole replay, so the baseline includes every code path the attack uses."""
    client = SilentClient(host="127.0.0.1", port=port, headers={"Authorization": f"Token {token}"}, rcvbuf=1 << 20)
    client.send_json({"action": "subscribe", "request_id": "warm", "object_type": "foo", "id": foo_id, "since": 0})
    client.sock.setblocking(True)
    client.sock.settimeout(30)
    frames: list[Any] = []
    while not any(isinstance(f, dict) and f.get("type") == "subscribed" for f in frames[-1:]):
        client.protocol.receive_data(client.sock.recv(65536))
        frames += [json.loads(e.data) for e in client.protocol.events_received() if e.opcode is Opcode.TEXT]
    client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose server is attacked")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--rate", type=float, default=19)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--no-reconnect", action="store_true", help="stop attacking once the socket is dropped")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a REALTIME_ setting")
    parser.add_argument("--skip-frames", action="store_true")
    args = parser.parse_args(argv)
    settings = dict(item.split("=", 1) for item in args.set)
    database_url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/realtime_hostile_bench")
    prepared = prepare(
        args.root.resolve(),
        database_url=database_url,
        redis_url=os.environ.get("BENCH_REDIS_URL", ""),
        events=args.events,
        settings=settings,
    )
    print(f"root {args.root}  stream head {prepared['head']}  settings ignored by this checkout: {prepared['ignored']}")
    server = start_daphne(args.root.resolve(), prepared["env"])
    try:
        warm_up(server.port, prepared["token"], prepared["foo"])
        baseline = rss_bytes(server.pid)
        attack = never_reading_attack(
            host="127.0.0.1",
            port=server.port,
            pid=server.pid,
            token=prepared["token"],
            foo_id=prepared["foo"],
            seconds=args.seconds,
            rate=args.rate,
            reconnect=not args.no_reconnect,
        )
        time.sleep(2)
        after = rss_bytes(server.pid)
        mib = 1 << 20
        print(
            f"RSS baseline {baseline / mib:.0f} MiB, peak {attack.peak() / mib:.0f} MiB, "
            f"2 s after the attack {after / mib:.0f} MiB; {attack.subscribes} subscribes, "
            f"{len(attack.drops)} drops (first at {attack.drops[0] if attack.drops else float('nan'):.1f} s)"
        )
        for second in range(0, int(args.seconds) + 1, 5):
            rss = next((rss for t, rss in attack.samples if t >= second), attack.samples[-1][1])
            print(f"  t={second:>3} s  RSS {rss / mib:.0f} MiB")
        if not args.skip_frames:
            outcomes = asyncio.run(probe_all(server, prepared))
            for outcome in outcomes:
                mark = "CRASH" if outcome.crashed else ("ok" if outcome.ok else "differs")
                print(f"  {mark:<7} {outcome.frame.name:<36} expected {outcome.frame.expect:<18} got {outcome.got}")
            crashed = sum(outcome.crashed for outcome in outcomes)
            differs = sum(not outcome.ok for outcome in outcomes)
            print(
                f"hostile frames: {len(outcomes)}, crashed (1011/4500/traceback/dead socket) {crashed}, "
                f"not as expected {differs}"
            )
    finally:
        server.stop()
        print(f"server log: {server.log.name}")
    return 0


async def probe_all(server: ServerProcess, prepared: dict[str, Any]) -> list[Outcome]:
    return [
        await probe_frame(
            frame,
            ws_url=f"ws://127.0.0.1:{server.port}/ws/notifications/",
            origin=f"http://127.0.0.1:{server.port}",
            token=prepared["token"],
            foo_id=prepared["foo"],
            log=Path(server.log.name),
        )
        for frame in [*HOSTILE_FRAMES, OVERSIZED]
    ]


if __name__ == "__main__":
    sys.exit(main())
