"""Host shapes that need settings of their own, each a small Django project run by its own tests in a subprocess.

* ``custom_user``: ``AUTH_USER_MODEL`` with a UUID primary key (tokens,
  tickets, inboxes, rechecks and the user model itself as a live type);
* ``no_authtoken``: no ``rest_framework.authtoken``, Session and Basic
  authentication only (a token header is a clean 4401, never a 500);
* ``no_hashids``: no ``HASHIDS_*`` and no ``REALTIME`` settings at all;
* ``follower``: ``realtime.mirror`` keeps a live local copy of another
  service's accounts (exactly-once application; ``tests/e2e/test_mirror.py``
  runs it against the demo).

Each runs its ``host_tests.py`` with ``python -m pytest -c <project>/pytest.ini``
(its own settings, nothing of this session's conftests), on a SQLite file
and, when this session runs on PostgreSQL, on a PostgreSQL database of its
own name. All runs start at once (they take a few seconds each, mostly
start-up) and each test waits for its own.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection

from tests.servers import ROOT

HOSTS = Path(__file__).resolve().parent
PROJECTS = ("custom_user", "no_authtoken", "no_hashids", "follower")
#: Variables of this session that must not leak into a host project's.
CLEARED = {"DATABASE_URL", "REDIS_URL", "CHANNEL_LAYER_PREFIX", "DJANGO_SETTINGS_MODULE", "PYTEST_ADDOPTS"}
LEAKS = ("REALTIME_", "HASHIDS_")
#: Plugins of this virtualenv a host project does not use: loading schemathesis and hypothesis doubles start-up.
PLUGINS_OFF = [f"-pno:{name}" for name in ("cacheprovider", "schemathesis", "hypothesispytest", "anyio")]


def database_urls(project: str, directory: Path) -> dict[str, str]:
    """The project's databases: a SQLite file, and a PostgreSQL database named after this session's if it has one."""
    urls = {"sqlite": f"sqlite:///{directory / f'{project}.sqlite3'}"}
    if connection.vendor == "postgresql":
        parts = urlsplit(os.environ["DATABASE_URL"])
        urls["postgres"] = urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}_{project}"))
    return urls


class HostRun:
    """``pytest`` of one host project on one database, in a subprocess."""

    def __init__(self, project: str, database_url: str, log: Path) -> None:
        env = {key: value for key, value in os.environ.items() if key not in CLEARED and not key.startswith(LEAKS)}
        env.update(DJANGO_SETTINGS_MODULE=f"tests.hosts.{project}.settings", HOST_DATABASE_URL=database_url)
        directory = HOSTS / project
        command = [sys.executable, "-m", "pytest", "-c", str(directory / "pytest.ini"), *PLUGINS_OFF]
        self.log = log
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                [*command, "-q", str(directory)], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
            )

    def wait(self, timeout: float = 120) -> tuple[int, str]:
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            code = -1
        return code, self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def host_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[tuple[str, str], HostRun]]:
    directory = tmp_path_factory.mktemp("hosts")
    runs = {
        (project, database): HostRun(project, url, directory / f"{project}-{database}.log")
        for project in PROJECTS
        for database, url in database_urls(project, directory).items()
    }
    yield runs
    for run in runs.values():
        run.stop()


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
@pytest.mark.parametrize("project", PROJECTS)
def test_host_project_passes_its_own_tests(host_runs, project, database):
    """The host project's own test suite passes on this database (its output is the failure message)."""
    code, output = host_runs[project, database].wait()
    assert code == 0, output
    assert re.fullmatch(r"\d+ passed in .*", output.strip().splitlines()[-1]), output  # no skip, no warning
