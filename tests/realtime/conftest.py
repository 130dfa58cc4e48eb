"""Fixtures for realtime tests: WebSocket clients on the real ASGI stack, a shared Foo, sentinels, SQL counting."""

from __future__ import annotations

import asyncio
import threading
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db.backends.utils import CursorWrapper
from rest_framework.authtoken.models import Token

from api.models import Foo
from project.asgi import application
from realtime.ids import encode_id

Connect = Callable[..., Awaitable[WebsocketCommunicator]]


@pytest.fixture
async def connect() -> AsyncIterator[Connect]:
    """Open WebSockets through the whole ASGI stack (origin check, auth middleware, router).

    ``await connect(user)`` authenticates with the user's DRF token header;
    ``connect(None)`` connects anonymously. Sockets are closed at teardown.
    """
    opened: list[WebsocketCommunicator] = []

    async def _connect(
        user: Any = None, *, origin: bytes = b"http://localhost", query: str = "", expect: bool = True
    ) -> WebsocketCommunicator:
        headers = [(b"host", b"localhost"), *([(b"origin", origin)] if origin else [])]
        if user is not None:
            token, _ = await sync_to_async(Token.objects.get_or_create)(user=user)
            headers.append((b"authorization", f"Token {token.key}".encode()))
        path = "/ws/notifications/" + (f"?{query}" if query else "")
        communicator = WebsocketCommunicator(application, path, headers=headers)
        connected, _ = await communicator.connect()
        assert connected is expect, "handshake outcome"
        opened.append(communicator)
        return communicator

    yield _connect
    await close_all(opened)


async def close_all(communicators: list[WebsocketCommunicator]) -> None:
    """Disconnect every communicator, each on its own, then report what went wrong.

    A communicator whose receive timed out had its application cancelled by that
    timeout; its ``disconnect()`` would raise ``CancelledError``, a ``BaseException``
    that made pytest skip the remaining finalizers (the database flush among them),
    so every later test errored. Such a socket is skipped: its test already failed.
    Any other error (the consumer crashed) is collected and, once every socket is
    closed, fails the test as an ordinary teardown error: the other finalizers run.
    """
    errors: list[str] = []
    for communicator in communicators:
        if communicator.future.cancelled():
            continue
        try:
            async with asyncio.timeout(5):
                await communicator.disconnect()
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # the teardown itself is being cancelled
            errors.append("the application was cancelled while disconnecting")
        except Exception as exc:
            errors.append("".join(traceback.format_exception(exc)))
    if errors:
        pytest.fail(f"{len(errors)} socket(s) failed at teardown:\n" + "\n".join(errors), pytrace=False)


async def receive_until(communicator: WebsocketCommunicator, frame_type: str, wait: float = 3) -> list[dict]:
    """Every frame up to and including the first of ``frame_type`` (each within ``wait`` seconds)."""
    frames = []
    while True:
        frame = await communicator.receive_json_from(timeout=wait)
        frames.append(frame)
        if frame["type"] == frame_type:
            return frames


async def subscribe(communicator: WebsocketCommunicator, foo: Foo | None = None, **fields: Any) -> list[dict]:
    """Subscribe to ``foo`` (or the inbox) and return the replayed frames followed by ``subscribed``."""
    message = {"action": "subscribe", "object_type": "inbox"}
    if foo is not None:
        message = {"action": "subscribe", "object_type": "foo", "id": encode_id(foo.pk)}
    await communicator.send_json_to({**message, **fields})
    frames = await receive_until(communicator, "subscribed")
    return frames


@pytest.fixture
def foo(alice, bob) -> Foo:
    """A Foo owned by alice and shared with bob (seq 1: created, seq 2: bob added)."""
    obj = Foo.objects.create(owner=alice, name="first", bar="one")
    obj.members.add(bob)
    return obj


# --- sentinels: "nothing was sent" without waiting for a timeout ---------------------------------


async def receive_first(
    communicator: WebsocketCommunicator, *, stream: str, seq: int | None = None, wait: float = 5
) -> dict:
    """The next frame, which must be an event of ``stream`` (at ``seq``, if given): nothing came before it."""
    frame = await communicator.receive_json_from(timeout=wait)
    meta = frame.get("meta") or {}
    expected = stream if seq is None else f"{stream}#{seq}"
    got = meta.get("stream") if seq is None else f"{meta.get('stream')}#{meta.get('seq')}"
    assert got == expected, f"expected the event {expected} before anything else, got {frame}"
    return frame


class Sentinel:
    """A Foo of the socket's own user, subscribed on the socket, whose change is an event that must arrive.

    Instead of asserting "nothing arrives within 0.3 s" (slow, and proves nothing on a
    slow machine), a test triggers whatever must stay silent, then ``await
    sentinel.fire()``: the sentinel's event is published after it, through the same
    channel layer, so when it is the very next frame nothing was sent before it.
    """

    def __init__(self, communicator: WebsocketCommunicator, foo: Foo, stream: str) -> None:
        self.communicator = communicator
        self.foo = foo
        self.stream = stream
        self.fired = 0

    @classmethod
    async def on(cls, communicator: WebsocketCommunicator, user: Any) -> Sentinel:
        """Create a Foo owned by ``user`` without logging an event (around the live managers, like raw SQL), and
        subscribe ``communicator`` to it."""
        (obj,) = await sync_to_async(Foo._base_manager.bulk_create)([Foo(owner=user, name="sentinel")])
        subscribed = (await subscribe(communicator, obj))[-1]
        assert subscribed["type"] == "subscribed", subscribed
        return cls(communicator, obj, subscribed["stream"])

    async def fire(self) -> dict:
        """Change the sentinel Foo; its event must be the next frame on the socket."""
        self.fired += 1
        self.foo.bar = f"sentinel-{self.fired}"
        await sync_to_async(self.foo.save)()
        frame = await receive_first(self.communicator, stream=self.stream)
        assert frame["payload"]["bar"] == self.foo.bar, frame
        return frame


# --- counting SQL statements from every thread ----------------------------------------------------


class Statements:
    """The SQL statements executed, on any connection in any thread, while counting is on."""

    def __init__(self) -> None:
        self.executed: list[tuple[str, str]] = []
        self.counting = False
        self._lock = threading.Lock()

    def start(self) -> None:
        self.counting = True

    def stop(self) -> list[tuple[str, str]]:
        """Stop counting; returns (thread name, sql) of every statement executed meanwhile."""
        self.counting = False
        return list(self.executed)

    def record(self, sql: Any) -> None:
        if self.counting:
            with self._lock:
                self.executed.append((threading.current_thread().name, str(sql)))


@pytest.fixture
def sql_statements(monkeypatch: pytest.MonkeyPatch) -> Statements:
    """Spy on ``CursorWrapper.execute``/``executemany`` (the class every Django cursor is, in every thread).

    Catches the sync ORM, the async ORM (``aget`` & co. run it in asgiref's thread)
    and ``database_sync_to_async`` alike; statements still run. Counting is off until
    ``start()``.
    """
    statements = Statements()
    real_execute, real_executemany = CursorWrapper.execute, CursorWrapper.executemany

    def execute(self: CursorWrapper, sql: Any, params: Any = None) -> Any:
        statements.record(sql)
        return real_execute(self, sql, params)

    def executemany(self: CursorWrapper, sql: Any, param_list: Any) -> Any:
        statements.record(sql)
        return real_executemany(self, sql, param_list)

    monkeypatch.setattr(CursorWrapper, "execute", execute)
    monkeypatch.setattr(CursorWrapper, "executemany", executemany)
    return statements
