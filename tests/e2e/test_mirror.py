"""Two services: the demo (master of its users) and the follower host (``manage.py follow``), each on its own database.

The master is a real daphne process on the test database; the follower a
real ``manage.py follow`` process with a PostgreSQL database of its own,
applying the master's ``account`` stream through ``AuditedMemberHandler``,
which records every applied ``(epoch, seq)`` under a unique constraint in
the same transaction as the change. Users change on the master while the
follower is SIGKILLed mid-stream and restarted, while the master restarts,
and after the master resets the stream's epoch.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token

from realtime.ids import encode_id
from realtime.log import stream_reset
from realtime.models import Stream
from realtime.registry import registry
from tests.servers import ROOT, database_url_for_tests

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.redis]
User = get_user_model()
HANDLER = "tests.hosts.follower.directory.handlers.AuditedMemberHandler"
#: Variables of this session that must not reach the follower (it has settings and a database of its own).
CLEARED = {"DATABASE_URL", "REDIS_URL", "CHANNEL_LAYER_PREFIX", "DJANGO_SETTINGS_MODULE", "PYTEST_ADDOPTS"}


class FollowerProcess:
    """``manage.py follow`` of the follower host on its own database."""

    def __init__(self, *, database_url: str, master_url: str, token: str, log: Path) -> None:
        self.env = {key: value for key, value in os.environ.items() if key not in CLEARED}
        self.env.update(
            DJANGO_SETTINGS_MODULE="tests.hosts.follower.settings",
            HOST_DATABASE_URL=database_url,
            MIRROR_TOKEN=token,
            MIRROR_TEST_APPLY_DELAY="0.02",  # slow enough to be killed in the middle of a stream
            PYTHONUNBUFFERED="1",
        )
        self.database_url = database_url
        self.command = [sys.executable, "manage.py", "follow", master_url, "account", "--handler", HANDLER]
        self.command += ["--backoff-max", "1", "--page-size", "25"]
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def migrate(self) -> None:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=self.env, check=True)

    def start(self) -> None:
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=output, stderr=output)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def query(self, sql: str) -> list[tuple]:
        with psycopg.connect(self.database_url, autocommit=True) as db:
            return db.execute(sql).fetchall()

    def position(self) -> tuple[str, int] | None:
        rows = self.query("SELECT epoch, seq FROM realtime_mirror_mirrorposition WHERE name = 'account'")
        return rows[0] if rows else None

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@pytest.fixture
def follower_database() -> Iterator[str]:
    """A PostgreSQL database of the follower's own, next to the test database."""
    parts = urlsplit(database_url_for_tests())
    name = f"{parts.path.lstrip('/')}_mirror_e2e"  # not <db>_follower: the follower host project's own runs use that
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        db.execute(f'CREATE DATABASE "{name}"')
    yield urlunsplit(parts._replace(path=f"/{name}"))
    with psycopg.connect(admin, autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def head() -> tuple[str, int]:
    stream = Stream.objects.get(name="account")
    return stream.epoch, stream.seq


def wait_until(condition: Callable[[], bool], what: str, follower: FollowerProcess, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}; follower output:\n{follower.output()}")
        time.sleep(0.02)


def caught_up(follower: FollowerProcess) -> Callable[[], bool]:
    return lambda: follower.position() == head()


def churn(count: int, tag: str) -> None:
    """``count`` committed changes to users: creates, profile changes, deactivations and deletes, one event each."""
    created: list = []
    for index in range(count):
        step = index % 5
        if step == 0 or not created:
            created.append(User.objects.create_user(f"{tag}-{index}", email=f"{tag}-{index}@example.com"))
        elif step == 1:
            created[-1].first_name = f"First {index}"
            created[-1].save()
        elif step == 2:
            created[0].last_name = f"Last {index}"
            created[0].save()
        elif step == 3:
            created[-1].is_active = not created[-1].is_active
            created[-1].save()
        else:
            created.pop(0).delete()


def master_state() -> dict[str, tuple]:
    fields = ("username", "first_name", "last_name", "email", "is_active")
    return {encode_id(pk): tuple(rest) for pk, *rest in User.objects.values_list("pk", *fields)}


def follower_state(follower: FollowerProcess) -> dict[str, tuple]:
    rows = follower.query("SELECT remote_id, username, first_name, last_name, email, is_active FROM directory_member")
    return {remote_id: tuple(rest) for remote_id, *rest in rows}


def applied(follower: FollowerProcess, epoch: str) -> list[int]:
    rows = follower.query(f"SELECT seq FROM directory_appliedchange WHERE epoch = '{epoch}' ORDER BY id")
    return [seq for (seq,) in rows]


def resyncs(follower: FollowerProcess) -> list[tuple[str, int]]:
    return follower.query("SELECT epoch, seq FROM directory_resync ORDER BY id")


def test_a_follower_applies_every_change_once_in_order_across_crashes_restarts_and_resets(
    daphne, follower_database, make_user, tmp_path
):
    """SIGKILLed follower, restarted master, changes while either is down: each change applied once, in order."""
    service = make_user("mirror-service")
    service.user_permissions.add(Permission.objects.get(codename="view_user", content_type__app_label="auth"))
    token = Token.objects.create(user=service).key
    churn(6, "before")  # the follower starts on a master that already has users: its first step is a resync
    master = daphne(env={"REALTIME_REPLAY_LIMIT": "20", "REALTIME_RECONNECT_SPREAD_MS": "300"})
    follower = FollowerProcess(
        database_url=follower_database, master_url=master.url, token=token, log=tmp_path / "follower.log"
    )
    follower.migrate()
    follower.start()
    try:
        wait_until(caught_up(follower), "the first resync", follower)
        ((epoch, start_seq),) = resyncs(follower)
        assert (epoch, start_seq) == head()
        assert follower_state(follower) == master_state()

        # A stream of changes; the follower is killed while it applies them (live, over the socket).
        churn(60, "live")
        wait_until(lambda: follower.position()[1] >= start_seq + 15, "the follower is in the middle", follower)
        follower.kill()
        killed_at = follower.position()[1]
        assert killed_at < head()[1], "the follower was killed in the middle of the stream"

        # More changes while it is down than the master replays over the socket: it pages the REST log.
        churn(40, "down")
        follower.start()
        wait_until(caught_up(follower), "the follower caught up after the crash", follower)

        # The master restarts (a reconnect frame, close 4503); changes are made while it is gone.
        master.stop()
        churn(10, "restart")
        master.start()
        churn(10, "after")
        wait_until(caught_up(follower), "the follower caught up after the master's restart", follower)

        seqs = applied(follower, epoch)
        assert seqs == list(range(start_seq + 1, head()[1] + 1)), "every change exactly once, in order"
        assert follower_state(follower) == master_state()

        # The master forgets the stream's history: a new epoch; the follower resyncs on the next event.
        stream_reset(stream=registry.get("account").get_type_stream())
        new_epoch, reset_seq = head()
        assert new_epoch != epoch
        churn(8, "reset")
        wait_until(caught_up(follower), "the follower resynced to the new epoch", follower)
        assert len(resyncs(follower)) == 2
        resync_epoch, resync_seq = resyncs(follower)[-1]
        assert resync_epoch == new_epoch
        assert resync_seq >= reset_seq
        assert applied(follower, new_epoch) == list(range(resync_seq + 1, head()[1] + 1))
        assert follower_state(follower) == master_state()
    finally:
        follower.kill()
