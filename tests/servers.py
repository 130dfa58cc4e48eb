"""Real server processes for end-to-end tests: daphne on a free port, against the test database.

``DaphneServer`` runs ``daphne project.asgi:application`` in a subprocess with
``DATABASE_URL`` pointing at the database pytest-django created (so it sees
the rows a ``transaction=True`` test commits), the test session's own settings
module (``tests.settings``: the same apps and URLs) and the same channel layer
settings as the test process, and waits until it answers HTTP.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import httpx
from django.conf import settings as django_settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url_for_tests() -> str:
    """A ``DATABASE_URL`` for the test database of the running pytest session."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    auth = quote(settings["USER"] or "")
    if settings.get("PASSWORD"):
        auth += ":" + quote(settings["PASSWORD"])
    return f"postgres://{auth}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{settings['NAME']}"


def settings_module_for_tests() -> str:
    """The settings module of the running pytest session, for subprocesses that share its database."""
    return django_settings.SETTINGS_MODULE


class DaphneServer:
    def __init__(
        self,
        *,
        env: dict[str, str] | None = None,
        command: list[str] | None = None,
        log_dir: Path | None = None,
        application: str = "project.asgi:application",
        cwd: Path = ROOT,
    ) -> None:
        self.port = free_port()
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url_for_tests(),
            "DJANGO_SETTINGS_MODULE": settings_module_for_tests(),
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.command = command or [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", "{port}"]
        self.command = [part.format(port=self.port) for part in self.command] + [application]
        self.cwd = cwd
        # Pass log_dir (a pytest tmp_path) so the log is cleaned up with the test's other files.
        self.log = tempfile.NamedTemporaryFile(prefix="daphne-", suffix=".log", dir=log_dir, delete=False)  # noqa: SIM115
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/notifications/"

    def start(self, timeout: float = 30) -> DaphneServer:
        self.process = subprocess.Popen(
            self.command, cwd=self.cwd, env=self.env, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"daphne exited with {self.process.returncode}:\n{self.output()}")
            try:
                httpx.get(f"{self.url}/api/", timeout=1)
                return self
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"daphne did not answer within {timeout}s:\n{self.output()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")[-5000:]
