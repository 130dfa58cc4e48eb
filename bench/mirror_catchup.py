"""Mirror catch-up: how long a follower takes to apply the changes it missed while it was offline.

Usage (PostgreSQL; the script creates and drops two scratch databases,
``<name>_mirrorbench_master`` and ``<name>_mirrorbench_follower``, next to
the one ``DATABASE_URL`` names)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/wt_mirror .venv/bin/python bench/mirror_catchup.py
    ... --changes 10000 --users 100 --replay-limit 1000 --page-size 1000

The master is the demo (``auth.User`` live as ``account``, with its type
stream) under daphne; the follower is the follower test host
(``tests/hosts/follower``: ``manage.py follow`` with ``AuditedMemberHandler``,
which records each applied ``(epoch, seq)`` under a unique key). The follower
first catches up with the users, is stopped, ``--changes`` profile changes are
committed on the master (one transaction each, round robin over ``--users``
users), and then the time is taken from starting the follower process
(Django start-up included) to its stored position reaching the stream's head.
The report says which path the catch-up took: socket replay (``since`` within
``--replay-limit``, the master's ``REALTIME_REPLAY_LIMIT``) or REST paging
(more missed than that), and checks every change was applied exactly once.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
HANDLER = "tests.hosts.follower.directory.handlers.AuditedMemberHandler"
CLEARED = {"DATABASE_URL", "REDIS_URL", "CHANNEL_LAYER_PREFIX", "DJANGO_SETTINGS_MODULE"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scratch_databases(url: str) -> tuple[str, str, str]:
    parts = urlsplit(url)
    base = parts.path.lstrip("/") or "postgres"
    admin = urlunsplit(parts._replace(path="/postgres"))
    master = urlunsplit(parts._replace(path=f"/{base}_mirrorbench_master"))
    follower = urlunsplit(parts._replace(path=f"/{base}_mirrorbench_follower"))
    return admin, master, follower


def recreate(admin: str, *urls: str, drop_only: bool = False) -> None:
    import psycopg

    with psycopg.connect(admin, autocommit=True) as db:
        for url in urls:
            name = urlsplit(url).path.lstrip("/")
            db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            if not drop_only:
                db.execute(f'CREATE DATABASE "{name}"')


def position(follower_url: str) -> tuple[str, int] | None:
    import psycopg

    with psycopg.connect(follower_url, autocommit=True) as db:
        row = db.execute("SELECT epoch, seq FROM realtime_mirror_mirrorposition WHERE name = 'account'").fetchone()
    return tuple(row) if row else None


def wait_caught_up(follower_url: str, head: tuple[str, int], process: subprocess.Popen, log: Path) -> float:
    deadline = time.monotonic() + 600
    while position(follower_url) != head:
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the follower did not catch up:\n{log.read_text()[-3000:]}")
        time.sleep(0.01)
    return time.monotonic()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--replay-limit", type=int, default=1000, help="the master's REALTIME_REPLAY_LIMIT")
    parser.add_argument("--page-size", type=int, default=1000, help="the follower's REST page size")
    parser.add_argument("--json", type=Path, default=None, help="also write the report here")
    args = parser.parse_args()

    admin, master_url, follower_url = scratch_databases(os.environ["DATABASE_URL"])
    recreate(admin, master_url, follower_url)
    base_env = {key: value for key, value in os.environ.items() if key not in CLEARED}
    master_env = {**base_env, "DATABASE_URL": master_url, "DJANGO_SETTINGS_MODULE": "project.settings"}
    master_env.update(REALTIME_REPLAY_LIMIT=str(args.replay_limit), REALTIME_REPLAY_BUDGET=str(10 * args.changes))
    master_env["REALTIME_REST_MAX_PAGE_SIZE"] = str(max(args.page_size, 1000))
    follower_env = {**base_env, "DJANGO_SETTINGS_MODULE": "tests.hosts.follower.settings"}
    follower_env["HOST_DATABASE_URL"] = follower_url
    master = follower = None
    try:
        for env in (master_env, follower_env):
            subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)

        os.environ.update(DATABASE_URL=master_url, DJANGO_SETTINGS_MODULE="project.settings")
        os.environ.pop("REDIS_URL", None)  # the follower is offline while the changes are made: nothing to publish to
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Permission
        from rest_framework.authtoken.models import Token

        from realtime.models import Stream

        User = get_user_model()
        service = User.objects.create_user("mirror-service")
        service.user_permissions.add(Permission.objects.get(codename="view_user", content_type__app_label="auth"))
        token = Token.objects.create(user=service).key
        users = [User.objects.create_user(f"user{n}", email=f"user{n}@example.com") for n in range(args.users)]

        port = free_port()
        master_log = Path(tempfile.mkstemp(prefix="mirrorbench-master-", suffix=".log")[1])
        master = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "project.asgi:application"],
            cwd=ROOT,
            env=master_env,
            stdout=master_log.open("w"),
            stderr=subprocess.STDOUT,
        )
        time.sleep(0.5)
        follow = [sys.executable, "manage.py", "follow", f"http://127.0.0.1:{port}", "account", "--handler", HANDLER]
        follow += ["--page-size", str(args.page_size), "--backoff-max", "1"]
        follower_env["MIRROR_TOKEN"] = token
        log = Path(tempfile.mkstemp(prefix="mirrorbench-follower-", suffix=".log")[1])

        def start() -> subprocess.Popen:
            log.write_text("")
            return subprocess.Popen(follow, cwd=ROOT, env=follower_env, stdout=log.open("a"), stderr=subprocess.STDOUT)

        def head() -> tuple[str, int]:
            stream = Stream.objects.get(name="account")
            return stream.epoch, stream.seq

        follower = start()
        wait_caught_up(follower_url, head(), follower, log)
        follower.send_signal(signal.SIGTERM)
        follower.wait(timeout=30)
        start_position = position(follower_url)

        began = time.monotonic()
        for n in range(args.changes):
            user = users[n % len(users)]
            user.first_name = f"change {n}"
            user.save(update_fields=["first_name"])
        written = time.monotonic() - began
        target = head()

        started = time.monotonic()
        follower = start()
        done = wait_caught_up(follower_url, target, follower, log)
        seconds = done - started
        output = log.read_text()
        # The follower logs why the socket did not replay; its "paged the REST log" line may come after the last
        # commit (when this script already stops it).
        path = "REST paging" if "not replayed over the socket (limit)" in output else "socket replay"
        import psycopg

        with psycopg.connect(follower_url, autocommit=True) as db:
            applied, distinct = db.execute(
                "SELECT count(*), count(DISTINCT seq) FROM directory_appliedchange WHERE seq > %s", [start_position[1]]
            ).fetchone()
            members = dict(db.execute("SELECT remote_id, first_name FROM directory_member").fetchall())
        from realtime.ids import encode_id

        expected = {encode_id(u.pk): u.first_name for u in User.objects.all()}
        report = {
            "changes": args.changes,
            "replay_limit": args.replay_limit,
            "page_size": args.page_size,
            "path": path,
            "seconds": round(seconds, 2),
            "changes_per_second": round(args.changes / seconds),
            "applied": applied,
            "applied_once": applied == distinct == args.changes,
            "state_equal": members == expected,
            "master_write_seconds": round(written, 2),
        }
        print(json.dumps(report, indent=2))
        if args.json:
            args.json.write_text(json.dumps(report, indent=2))
    finally:
        for process in (follower, master):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
        from django.db import connections

        connections.close_all()
        recreate(admin, master_url, follower_url, drop_only=True)


if __name__ == "__main__":
    main()
