"""Management commands of the realtime app: ``prune_notifications``, ``reset_stream`` and ``listen``."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from realtime.events import Event
from realtime.log import notification_append, stream_read
from realtime.models import Notification, Stream, Ticket
from realtime.registry import registry
from realtime.tickets import ticket_issue

pytestmark = pytest.mark.django_db

EVENT = Event("test:commands:appended", "APPEND_TEST")
STREAM = registry.get("foo").get_stream(5151)


def append(count: int, stream=STREAM) -> None:
    for i in range(count):
        notification_append(stream=stream, event=EVENT, payload={"i": i})


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip()


def head(stream=STREAM) -> Stream:
    return Stream.objects.get(name=stream.name)


# --- prune_notifications -------------------------------------------------------------


def test_prune_keep_per_stream():
    """``--keep N`` keeps the newest N per stream and says how many went."""
    append(10)
    epoch = head().epoch
    assert run("prune_notifications", "--keep", "4", "--days", "0") == "Deleted 6 notification(s) and 0 ticket(s)."
    assert (head().pruned_through, head().epoch) == (6, epoch)
    assert stream_read(stream=STREAM, since=5, limit=100).reason == "pruned"


def test_prune_by_days():
    """``--days N`` deletes what is older than N days."""
    append(5)
    Notification.objects.filter(seq__lte=3).update(created_at=timezone.now() - timedelta(days=8))
    assert run("prune_notifications", "--days", "7", "--keep", "0") == "Deleted 3 notification(s) and 0 ticket(s)."
    assert head().pruned_through == 3


def test_prune_zero_means_no_limit():
    """``--days 0 --keep 0`` deletes no notification."""
    append(5)
    Notification.objects.update(created_at=timezone.now() - timedelta(days=1000))
    assert run("prune_notifications", "--days", "0", "--keep", "0") == "Deleted 0 notification(s) and 0 ticket(s)."
    assert Notification.objects.count() == 5


def test_prune_defaults_come_from_the_settings(settings):
    """Without options the retention settings apply."""
    settings.REALTIME = {"RETENTION_DAYS": 2, "RETENTION_MAX_PER_STREAM": 3}
    append(6)
    other = registry.get("foo").get_stream(6262)
    append(2, stream=other)
    Notification.objects.filter(stream__name=other.name, seq=1).update(created_at=timezone.now() - timedelta(days=3))
    assert run("prune_notifications") == "Deleted 4 notification(s) and 0 ticket(s)."
    assert (head().pruned_through, head(other).pruned_through) == (3, 1)


def test_prune_deletes_spent_tickets(alice):
    """Used and expired WebSocket tickets are deleted; live ones stay."""
    ticket_issue(user=alice)
    now = timezone.now()
    used = Ticket.objects.create(key_hash="a" * 64, user=alice, expires_at=now + timedelta(seconds=30), used_at=now)
    expired = Ticket.objects.create(key_hash="b" * 64, user=alice, expires_at=now - timedelta(seconds=1))
    assert run("prune_notifications") == "Deleted 0 notification(s) and 2 ticket(s)."
    assert not Ticket.objects.filter(pk__in=[used.pk, expired.pk]).exists()
    assert Ticket.objects.count() == 1


# --- reset_stream ------------------------------------------------------------------------


def test_reset_stream_changes_the_epoch_and_forgets_the_history():
    """``reset_stream <name>`` deletes the events, changes the epoch and reports the new horizon."""
    append(4)
    old_epoch = head().epoch
    output = run("reset_stream", STREAM.name)
    row = head()
    assert row.epoch != old_epoch
    assert output == f"Reset {STREAM.name}: epoch {row.epoch}, history starts after seq 4."
    assert not Notification.objects.exists()
    assert stream_read(stream=STREAM, since=2, epoch=old_epoch, limit=100).reason == "epoch"


def test_reset_stream_of_a_stream_without_history_fails():
    """An unknown stream is a command error, not a silent no-op."""
    with pytest.raises(CommandError, match="has no history"):
        run("reset_stream", STREAM.name)


@pytest.mark.parametrize("name", ["nonsense", "foo.", "foo.!!", "a.b.c"])
def test_reset_stream_refuses_malformed_names(name):
    """A malformed name is a command error that shows the expected shape."""
    with pytest.raises(CommandError, match="not a stream name"):
        run("reset_stream", name)


def test_listen_without_a_server_is_one_clear_line_not_a_traceback():
    """`manage.py listen` against a port nobody serves exits 1 with one CommandError line naming --url."""
    import subprocess
    import sys

    from tests.servers import ROOT, free_port

    url = f"ws://127.0.0.1:{free_port()}/ws/notifications/"
    result = subprocess.run(
        [sys.executable, "manage.py", "listen", "--url", url, "--token", "x", "inbox"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"CommandError: Could not connect to {url}")
    assert "is the server running" in lines[0]
    assert "--url" in lines[0]


def test_listen_rejects_a_url_that_is_not_a_websocket_url():
    """A mistyped --url is named as such."""
    with pytest.raises(CommandError, match="not a WebSocket URL"):
        call_command("listen", "inbox", token="x", url="http://127.0.0.1:1/ws/notifications/")
