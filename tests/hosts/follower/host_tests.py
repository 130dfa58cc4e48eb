"""The follower host's own tests: each master event applied exactly once, with the stored position, on a real DB.

These drive ``realtime.mirror.position`` with event frames as the master
sends them (the network side, ``Follower``, runs end to end in
``tests/e2e/test_mirror.py``).
"""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from realtime.mirror.follower import backoff_delay
from realtime.mirror.models import MirrorPosition
from realtime.mirror.position import CATCH_UP, RESYNC, events_apply, resync_apply
from tests.hosts.follower.asgi import application
from tests.hosts.follower.directory.handlers import AuditedMemberHandler
from tests.hosts.follower.directory.models import AppliedChange, Member, Resync
from tests.hosts.hostkit import close_async_connections, handshake, request  # noqa: F401  (an autouse fixture)

pytestmark = pytest.mark.django_db(transaction=True)
STREAM = "account"


def event(seq: int, username: str = "alice", *, verb: str = "UPDATE", epoch: str = "E1", **fields: Any) -> dict:
    """An event frame of the master's ``account`` stream."""
    payload = {"id": f"id-{username}", "username": username, **fields}
    if verb == "DELETE":
        payload = {"id": f"id-{username}"}
    meta = {"stream": STREAM, "epoch": epoch, "seq": seq, "object_type": "account", "id": payload["id"]}
    return {"type": f"{verb}_ACCOUNT", "payload": payload, "meta": meta}


def started(seq: int = 0, epoch: str = "E1") -> AuditedMemberHandler:
    """A follower that resynced from an empty master at ``epoch:seq``."""
    handler = AuditedMemberHandler()
    resync_apply(name=STREAM, master="http://master", objects=[], epoch=epoch, seq=seq, handler=handler)
    return handler


def applied() -> list[tuple[str, int]]:
    return list(AppliedChange.objects.order_by("pk").values_list("epoch", "seq"))


def test_the_host_passes_its_checks():
    """``manage.py check`` finds nothing to fix with realtime and realtime.mirror installed."""
    call_command("check", fail_level="WARNING")


def test_events_in_order_are_applied_once_with_the_position():
    """seq = stored + 1 is applied (create, update, delete) and moves the position in the same transaction."""
    handler = started()
    outcome = events_apply(
        name=STREAM,
        events=[event(1, verb="CREATE"), event(2, first_name="Alice"), event(3, "bob", verb="CREATE")],
        handler=handler,
    )
    assert (outcome.applied, outcome.seq, outcome.needs) == (3, 3, None)
    assert list(Member.objects.order_by("pk").values_list("username", "first_name")) == [
        ("alice", "Alice"),
        ("bob", ""),
    ]
    events_apply(name=STREAM, events=[event(4, "bob", verb="DELETE")], handler=handler)
    assert list(Member.objects.values_list("username", flat=True)) == ["alice"]
    assert MirrorPosition.objects.get(name=STREAM).seq == 4
    assert applied() == [("E1", 1), ("E1", 2), ("E1", 3), ("E1", 4)]


def test_duplicates_are_ignored():
    """Events at or below the stored seq (a replay overlapping live events, a redelivery) change nothing."""
    handler = started()
    events_apply(name=STREAM, events=[event(1, verb="CREATE"), event(2, first_name="A")], handler=handler)
    outcome = events_apply(
        name=STREAM,
        events=[event(1, verb="CREATE"), event(2, first_name="A"), event(2, first_name="B")],
        handler=handler,
    )
    assert (outcome.applied, outcome.duplicates, outcome.seq, outcome.needs) == (0, 3, 2, None)
    assert Member.objects.get().first_name == "A"
    assert applied() == [("E1", 1), ("E1", 2)]


def test_a_gap_stops_before_it_and_asks_for_a_catch_up():
    """seq > stored + 1: the events before the gap are applied, nothing after it; the REST log fills it."""
    handler = started()
    outcome = events_apply(
        name=STREAM, events=[event(1, verb="CREATE"), event(3, first_name="late"), event(4)], handler=handler
    )
    assert (outcome.applied, outcome.seq, outcome.needs) == (1, 1, CATCH_UP)
    assert Member.objects.get().first_name == ""
    outcome = events_apply(name=STREAM, events=[event(2, first_name="x"), event(3, first_name="late")], handler=handler)
    assert (outcome.applied, outcome.seq, outcome.needs) == (2, 3, None)
    assert applied() == [("E1", 1), ("E1", 2), ("E1", 3)]


def test_another_epoch_asks_for_a_resync_and_the_resync_replaces_the_copy():
    """An event of a new epoch after the position means the master reset: resync upserts all, deletes the rest."""
    handler = started()
    events_apply(name=STREAM, events=[event(1, verb="CREATE"), event(2, "bob", verb="CREATE")], handler=handler)
    old = events_apply(name=STREAM, events=[event(2, "bob", epoch="E2")], handler=handler)
    assert (old.applied, old.duplicates, old.needs) == (0, 1, None), "old seqs of any epoch are duplicates"
    outcome = events_apply(name=STREAM, events=[event(5, "carol", verb="CREATE", epoch="E2")], handler=handler)
    assert (outcome.applied, outcome.seq, outcome.needs) == (0, 2, RESYNC)

    listed = [
        {"id": "id-alice", "username": "alice", "email": "a@example.com"},
        {"id": "id-carol", "username": "carol"},
    ]
    resync_apply(name=STREAM, master="http://master", objects=listed, epoch="E2", seq=5, handler=handler)
    assert list(Member.objects.order_by("username").values_list("username", "email")) == [
        ("alice", "a@example.com"),
        ("carol", ""),
    ]
    position = MirrorPosition.objects.get(name=STREAM)
    assert (position.epoch, position.seq, position.resyncs) == ("E2", 5, 2)
    assert list(Resync.objects.order_by("pk").values_list("epoch", "seq", "listed")) == [("E1", 0, 0), ("E2", 5, 2)]
    outcome = events_apply(
        name=STREAM, events=[event(5, "carol", epoch="E2"), event(6, "carol", epoch="E2")], handler=handler
    )
    assert (outcome.applied, outcome.seq) == (1, 6)


def test_without_a_position_nothing_is_applied():
    """A follower that never resynced has no position: it must list the master first."""
    outcome = events_apply(name=STREAM, events=[event(1, verb="CREATE")], handler=AuditedMemberHandler())
    assert (outcome.applied, outcome.needs) == (0, RESYNC)
    assert not Member.objects.exists()


def test_a_failing_handler_leaves_neither_its_writes_nor_the_position():
    """The handler's writes and the position commit together: when applying fails, the batch is not applied."""

    class Failing(AuditedMemberHandler):
        def apply(self, event: dict) -> None:
            super().apply(event)
            if event["meta"]["seq"] == 2:
                raise RuntimeError("the follower crashed")

    handler = started()
    with pytest.raises(RuntimeError, match="crashed"):
        events_apply(name=STREAM, events=[event(1, verb="CREATE"), event(2, first_name="x")], handler=Failing())
    assert (MirrorPosition.objects.get(name=STREAM).seq, Member.objects.count(), applied()) == (0, 0, [])
    events_apply(name=STREAM, events=[event(1, verb="CREATE"), event(2, first_name="x")], handler=handler)
    assert applied() == [("E1", 1), ("E1", 2)]


def test_an_unchanged_payload_saves_nothing():
    """An upsert with the same values writes no row: a duplicate-looking event on a live model logs no event."""
    handler = started()
    events_apply(name=STREAM, events=[event(1, verb="CREATE", first_name="A")], handler=handler)
    member = Member.objects.get()
    handler.upsert({"id": "id-alice", "username": "alice", "first_name": "A"})
    from realtime.models import Stream

    assert Stream.objects.get(name=f"member.{member.pk}").seq == 1


async def test_the_followers_own_browsers_see_the_change():
    """Applying through the live local model publishes it: a subscriber of the follower gets the UPDATE."""
    handler = await sync_to_async(started)()
    await sync_to_async(events_apply)(name=STREAM, events=[event(1, verb="CREATE")], handler=handler)
    member = await sync_to_async(Member.objects.get)()
    user = await sync_to_async(get_user_model().objects.create_user)("reader", password="pw")
    token = await sync_to_async(lambda: Token.objects.create(user=user).key)()
    ws = await handshake(application, headers=[(b"authorization", f"Token {token}".encode())])
    try:
        frames = await request(ws, {"action": "subscribe", "object_type": "member", "id": str(member.pk), "since": 1})
        assert frames[-1]["type"] == "subscribed", frames
        await sync_to_async(events_apply)(
            name=STREAM, events=[event(2, first_name="Alice", email="alice@example.com")], handler=handler
        )
        update = await ws.receive_json_from(timeout=5)
        assert update["type"] == "UPDATE_MEMBER"
        assert (update["payload"]["first_name"], update["payload"]["email"]) == ("Alice", "alice@example.com")
    finally:
        await ws.disconnect()


def test_backoff_is_full_jitter_and_capped():
    """Each wait is between 0 and min(cap, base * 2**attempt)."""
    waits = [backoff_delay(attempt=attempt, base=0.5, cap=4.0) for attempt in range(12) for _ in range(20)]
    assert all(0 <= wait <= 4.0 for wait in waits)
    assert all(backoff_delay(attempt=0, base=0.5, cap=4.0) <= 0.5 for _ in range(50))
    assert max(waits) > 2.0, "later attempts wait longer"
