"""The servers under test, each behind one small interface the scenarios drive.

A ``Target`` knows how to open a WebSocket to its server, the subscribe
message and its acknowledgement, how to make a change (a REST PATCH for the
Django servers, a ``publish`` message for the bare server) and how to find
the change's marker in a frame. ``ServerProcess`` runs one server process on
a free port and waits until it answers.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> tuple[float, float]:
    """``(busy, total)`` CPU seconds of the whole machine (all cores) since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(values) - idle) / tick, sum(values) / tick


def rss_bytes(pid: int) -> int:
    """Resident set size of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


class ServerProcess:
    """One server subprocess on ``port``; ``command`` may contain ``{port}``."""

    def __init__(
        self, command: list[str], *, port: int, env: dict[str, str], http: bool = True, cwd: Path = ROOT
    ) -> None:
        self.port = port
        self.cwd = cwd
        self.command = [part.format(port=port) for part in command]
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
        self.http = http
        self.log = tempfile.NamedTemporaryFile(prefix="bench-server-", suffix=".log", delete=False)  # noqa: SIM115
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, timeout: float = 60, *, listening: bool = False) -> ServerProcess:
        """Start the server; return once it answers ``/healthz`` (or, with ``listening``, accepts connections).

        ``listening`` is for timing a restart: clients that are already retrying reach the socket as soon as it
        listens, and a health check queued behind them may not be answered until they are served.
        """
        self.process = subprocess.Popen(
            self.command, cwd=self.cwd, env=self.env, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.command[:4]} exited with {self.process.returncode}:\n{self.output()}")
            try:
                if self.http and not listening:
                    httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2)
                else:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except (httpx.TransportError, OSError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.command[:4]} did not answer within {timeout}s:\n{self.output()}")

    def children(self) -> list[int]:
        """Process ids of the direct children (the server, when it runs under py-spy)."""
        path = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None and self.command[0].endswith("py-spy"):
            # py-spy writes its profile on SIGINT; then end the profiled server it started.
            children = self.children()
            self.process.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=30)
            for pid in children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        """End the process at once (SIGKILL): no goodbye to its sockets, as in a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")[-5000:]


class Spawner:
    """Starts daphne processes of this project with one environment (for the scenarios with several processes)."""

    def __init__(self, env: dict[str, str], *, application: str = "project.asgi:application") -> None:
        self.env, self.application = env, application
        self.started: list[ServerProcess] = []

    def __call__(self, *, profile: Path | None = None, **extra: str) -> ServerProcess:
        """A started process, under py-spy (writing to ``profile``) if given, with ``extra`` in its environment."""
        command = [*daphne_command(), self.application]
        if profile is not None:
            command = profiled(command, output=profile)
        server = ServerProcess(command, port=free_port(), env={**self.env, **extra})
        self.started.append(server)
        return server.start()

    def redis_url(self) -> str:
        """The ``REDIS_URL`` its processes get (``""``: each has its own in-memory channel layer)."""
        return {**os.environ, **self.env}.get("REDIS_URL", "")

    def stop_all(self) -> None:
        for server in self.started:
            server.stop()
        self.started.clear()


@dataclass
class Target:
    """A server under test, as the scenarios see it."""

    name: str
    port: int
    pid: int
    token: str = ""
    ws_path: str = "/ws/notifications/"
    #: Where changes are sent (REST); another process of the same server when set.
    write_port: int | None = None
    _http: httpx.AsyncClient | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.write_port or self.port}"

    async def write_through(self, port: int | None) -> None:
        """Send changes to the server process on ``port`` (``None``: back to the one under test)."""
        await self.aclose()
        self.write_port = port

    async def open(self, *, subprotocols: list[str] | None = None, open_timeout: float = 120) -> ClientConnection:
        headers = {"Authorization": f"Token {self.token}"} if self.token else {}
        return await connect(
            f"ws://127.0.0.1:{self.port}{self.ws_path}",
            origin=f"http://127.0.0.1:{self.port}",
            additional_headers=headers,
            subprotocols=subprotocols,  # type: ignore[arg-type]
            open_timeout=open_timeout,
            ping_interval=None,
            max_queue=None,
        )

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
            self._http = httpx.AsyncClient(
                base_url=self.base_url, headers={"Authorization": f"Token {self.token}"}, timeout=60, limits=limits
            )
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # --- per server ---------------------------------------------------------

    def subscribe_message(self, obj: Any, **extra: Any) -> str:
        raise NotImplementedError

    def is_ack(self, frame: dict[str, Any]) -> bool:
        raise NotImplementedError

    def marker_of(self, frame: dict[str, Any]) -> str | None:
        """The ``bar`` value of a change frame (the scenarios' marker), else ``None``."""
        raise NotImplementedError

    async def change(self, obj: Any, marker: str) -> None:
        raise NotImplementedError


class OursTarget(Target):
    """This project: subscribe by hashid, change by ``PATCH /api/foo/<hashid>``."""

    def subscribe_message(self, obj: Any, **extra: Any) -> str:
        return json.dumps({"action": "subscribe", "object_type": "foo", "id": obj, **extra})

    def is_ack(self, frame: dict[str, Any]) -> bool:
        return frame.get("type") == "subscribed"

    def marker_of(self, frame: dict[str, Any]) -> str | None:
        return frame["payload"].get("bar") if frame.get("type") == "UPDATE_FOO" else None

    async def change(self, obj: Any, marker: str) -> None:
        response = await self.http.patch(f"/api/foo/{obj}", json={"bar": marker})
        response.raise_for_status()

    def as_user(self, token: str) -> OursTarget:
        """The same server, reached with another user's token."""
        return type(self)(self.name, self.port, self.pid, token, write_port=self.write_port)

    async def metric(self, name: str, *, token: str) -> float:
        """The sum of a counter's samples in this process's ``/metrics`` (bearer ``token``)."""
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.get(
                f"http://127.0.0.1:{self.port}/metrics", headers={"Authorization": f"Bearer {token}"}
            )
        response.raise_for_status()
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in response.text.splitlines()
            if line.startswith(name) and not line.startswith("#")
        )


class ListsTarget(OursTarget):
    """This project, subscribing to a live list (``obj`` is the list's query parameters) instead of one object."""

    def subscribe_message(self, obj: Any, **extra: Any) -> str:
        return json.dumps({"action": "subscribe", "object_type": "foo", "list": obj, **extra})

    def as_user(self, token: str) -> ListsTarget:
        return ListsTarget(self.name, self.port, self.pid, token, write_port=self.write_port)


class DcrfTarget(Target):
    """djangochannelsrestframework: ``subscribe_instance`` by pk, change by ``PATCH /api/widget/<pk>/``."""

    def subscribe_message(self, obj: Any, **extra: Any) -> str:
        return json.dumps({"action": "subscribe_instance", "pk": obj, "request_id": "bench"})

    def is_ack(self, frame: dict[str, Any]) -> bool:
        return frame.get("action") == "subscribe_instance"

    def marker_of(self, frame: dict[str, Any]) -> str | None:
        return frame["data"].get("bar") if frame.get("action") == "update" and frame.get("data") else None

    async def change(self, obj: Any, marker: str) -> None:
        response = await self.http.patch(f"/api/widget/{obj}/", json={"bar": marker})
        response.raise_for_status()


class BareTarget(Target):
    """The bare ``websockets`` broadcast server: changes are ``publish`` messages on a control socket."""

    _control: ClientConnection | None = None

    def subscribe_message(self, obj: Any, **extra: Any) -> str:
        return json.dumps({"action": "subscribe", "id": obj})

    def is_ack(self, frame: dict[str, Any]) -> bool:
        return frame.get("type") == "subscribed"

    def marker_of(self, frame: dict[str, Any]) -> str | None:
        return frame["payload"].get("bar") if frame.get("type") == "UPDATE_FOO" else None

    async def change(self, obj: Any, marker: str) -> None:
        if self._control is None:
            self._control = await self.open()
        await self._control.send(json.dumps({"action": "publish", "id": obj, "bar": marker}))

    async def aclose(self) -> None:
        if self._control is not None:
            await self._control.close()
            self._control = None
        await super().aclose()


def daphne_command() -> list[str]:
    return [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", "{port}"]


def uvicorn_command() -> list[str]:
    return [
        *(sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", "{port}"),
        *("--no-access-log", "--lifespan", "off", "--ws", "websockets-sansio", "--ws-per-message-deflate", "false"),
    ]


def profiled(command: list[str], *, output: Path) -> list[str]:
    """``command`` run under py-spy, writing collapsed stacks to ``output``.

    Only the thread holding the GIL is sampled (``--gil``): the shares are of the interpreter's CPU time. Without
    it, every database thread waiting to take the GIL back counts as busy in the frame it waits in (psycopg's
    send), which once made a CPU-bound storm read as if it waited on the database.
    """
    beside = Path(sys.executable).with_name("py-spy")
    return [
        str(beside) if beside.exists() else (shutil.which("py-spy") or str(beside)),
        "record",
        "--format",
        "raw",
        "--nonblocking",
        "--gil",
        "--rate",
        "200",
        "--output",
        str(output),
        "--",
        *command,
    ]
