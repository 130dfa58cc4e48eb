"""The shared-socket deployment: several daphne processes accept on one inherited unix socket (as systemd passes it)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import unix_connect

from tests import servers
from tests.e2e.clients import api_token, receive_frame, release_db_connection

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for_health(path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with httpx.Client(transport=httpx.HTTPTransport(uds=str(path)), timeout=2) as client:
                if client.get("http://localhost/healthz").status_code == 200:
                    return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("daphne did not answer on the shared socket")


@pytest.fixture
def shared_socket(tmp_path: Path) -> Iterator[Path]:
    """Two daphne processes accepting on one unix socket handed over the way systemd does it.

    As with ``deploy/systemd/realtime-daphne.socket``: the listening socket is
    file descriptor 3, ``LISTEN_FDS=1``, ``LISTEN_FDNAMES`` names it and ``LISTEN_PID`` is the server's own
    pid; daphne adopts it with the endpoint ``systemd:domain=UNIX:index=0``.
    """
    path = tmp_path / "daphne.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(128)
    fd = listener.fileno()
    env = {
        **os.environ,
        "DATABASE_URL": servers.database_url_for_tests(),
        "DJANGO_SETTINGS_MODULE": servers.settings_module_for_tests(),
        "LISTEN_FDS": "1",
        "LISTEN_FDNAMES": "realtime-daphne.socket",
    }
    daphne = [sys.executable, "-m", "daphne", "-e", "systemd:domain=UNIX:index=0", "project.asgi:application"]
    # sh sets LISTEN_PID to its own pid, which exec hands on to daphne.
    command = ["sh", "-c", 'LISTEN_PID=$$ exec "$@"', "sh", *daphne]
    processes = [
        subprocess.Popen(command, cwd=servers.ROOT, env=env, pass_fds=[3], preexec_fn=lambda: os.dup2(fd, 3))
        for _ in range(2)
    ]
    listener.close()  # the servers hold it now
    try:
        wait_for_health(path)
        yield path
        assert all(process.poll() is None for process in processes), "a daphne process died"
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=15)


async def test_two_daphne_processes_serve_one_inherited_socket(shared_socket, alice):
    """Both processes serve HTTP and WebSockets from the one socket they inherit (deploy/systemd's shared mode)."""
    token = await api_token(alice)
    await release_db_connection()
    connection = await unix_connect(
        str(shared_socket),
        uri="ws://localhost/ws/notifications/",
        origin="http://localhost",
        additional_headers={"Authorization": f"Token {token}"},
    )
    await connection.send('{"action": "ping", "request_id": "p"}')
    assert await receive_frame(connection) == {"type": "pong", "request_id": "p"}
    await connection.close()
