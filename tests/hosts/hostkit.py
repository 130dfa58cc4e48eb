"""What the small host projects under ``tests/hosts/<name>/`` share: their database, and sockets for their tests.

Each project is a Django project of its own (``settings.py``, ``urls.py``,
``asgi.py``, one app), run by ``tests/hosts/test_projects.py`` in a pytest
subprocess of its own. ``HOST_DATABASE_URL`` names its database: a SQLite
file, or a PostgreSQL database of its own name (the test database is that
name with pytest-django's ``test_`` prefix).
"""

from __future__ import annotations

import os
from typing import Any

import dj_database_url
import pytest


def host_databases() -> dict[str, Any]:
    """``DATABASES`` from ``HOST_DATABASE_URL``; a SQLite test database is a file (the test's threads share it)."""
    database = dj_database_url.parse(os.environ["HOST_DATABASE_URL"])
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database["TEST"] = {"NAME": f"{database['NAME']}.test"}
        database["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    return {"default": database}


@pytest.fixture(autouse=True)
def close_async_connections() -> Any:
    """After each test, close the connection its consumers opened in asgiref's database thread.

    Left open, it outlives the test session and PostgreSQL refuses to drop the test database.
    Import it into a project's ``host_tests.py`` to use it.
    """
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connections

    SyncToAsync.single_thread_executor.submit(connections.close_all).result()


async def handshake(application: Any, *, headers: list[tuple[bytes, bytes]] = (), query: str = "") -> Any:
    """A ``WebsocketCommunicator`` connected to ``/ws/notifications/`` with ``Host``/``Origin`` of localhost."""
    from channels.testing import WebsocketCommunicator

    sent = [(b"host", b"localhost"), (b"origin", b"http://localhost"), *headers]
    path = "/ws/notifications/" + (f"?{query}" if query else "")
    communicator = WebsocketCommunicator(application, path, headers=sent)
    connected, _ = await communicator.connect()
    assert connected, "the handshake was refused"
    return communicator


async def request(communicator: Any, message: dict[str, Any], *, until: str = "subscribed") -> list[dict[str, Any]]:
    """Send ``message``; every frame up to its reply (``until``, or an ``error``)."""
    await communicator.send_json_to(message)
    frames = []
    while True:
        frame = await communicator.receive_json_from(timeout=5)
        frames.append(frame)
        if frame["type"] in {until, "error"}:
            return frames
