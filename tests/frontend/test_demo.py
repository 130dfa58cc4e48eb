"""The demo app in headless Chromium against a real daphne: live edits, restart and replay, unsharing.

Two browser contexts are two users (alice owns the Foo, bob is a member).
The 20 offline changes are ORM saves in this process while daphne is down:
tracked saves append to the log exactly as a REST write would.
"""

from __future__ import annotations

import json
import time

import pytest
from django.db import connections
from playwright.async_api import expect

from api.models import Foo
from realtime.ids import encode_id
from tests.frontend.conftest import artifact, foo_item, in_thread, realtime_state, status_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]

MISSED = 20


@pytest.fixture
def shared(alice, bob) -> Foo:
    foo = Foo.objects.create(owner=alice, name="Plans", bar="shared with bob")
    foo.members.add(bob)
    return foo


def change_offline(pk: int, count: int) -> None:
    """``count`` tracked saves of one Foo, each its own transaction and logged event."""
    try:
        foo = Foo.objects.get(pk=pk)
        for number in range(1, count + 1):
            foo.name = f"Offline change {number}"
            foo.save()
    finally:
        connections.close_all()


async def test_edit_is_live_for_the_other_user_and_missed_events_replay_once_after_restart(login, server, shared):
    """A's edit reaches B within 1 s; after a daphne restart B shows the final state, each missed event applied once."""
    alice, bob = await login("alice"), await login("bob")
    stream = f"foo.{encode_id(shared.pk)}"

    await foo_item(alice, "Plans").click()
    await alice.get_by_label("Name", exact=True).fill("Plans, edited by alice")
    await alice.get_by_role("button", name="Save").click()
    await expect(foo_item(bob, "Plans, edited by alice")).to_be_visible(timeout=1_000)
    await foo_item(bob, "Plans, edited by alice").click()
    before = (await realtime_state(bob))["positions"][stream]["seq"]

    await in_thread(server.stop)
    await expect(status_of(bob)).to_have_attribute("data-status", "reconnecting", timeout=10_000)
    await in_thread(lambda: change_offline(shared.pk, MISSED))
    await in_thread(server.start)
    restarted = time.monotonic()

    await expect(foo_item(bob, f"Offline change {MISSED}")).to_be_visible(timeout=30_000)
    await expect(status_of(bob)).to_have_attribute("data-status", "live", timeout=30_000)
    seen_live = time.monotonic() - restarted
    state = await realtime_state(bob)
    applied_after = [seq for seq in state["debug"]["applied"][stream] if seq > before]
    assert applied_after == list(range(before + 1, before + MISSED + 1)), "each missed event applied once, in order"
    assert state["lastCatchUp"]["reconnect"] is True
    assert state["lastCatchUp"]["replayed"] == MISSED
    assert state["debug"]["reloads"] == 0, "caught up by replay, not by reloading"
    await expect(bob.get_by_test_id("replay-note")).to_contain_text(f"replayed {MISSED} missed events")
    await expect(bob.get_by_test_id("foo-detail-name")).to_have_text(f"Offline change {MISSED}")

    await bob.screenshot(path=artifact("demo-bob-after-restart.png"), full_page=True)
    await alice.screenshot(path=artifact("demo-alice.png"), full_page=True)
    measured = {
        "missed_events": MISSED,
        "socket_open_to_caught_up_ms": state["lastCatchUp"]["ms"],
        "daphne_ready_to_final_state_shown_s": round(seen_live, 3),
        "database": connections["default"].vendor,
    }
    artifact("reconnect.json").write_text(json.dumps(measured, indent=2) + "\n")
    print(f"reconnect after daphne restart: {measured}")


@pytest.fixture
def unshared(alice) -> Foo:
    return Foo.objects.create(owner=alice, name="Second", bar="not shared yet")


async def test_unshared_foo_disappears_and_a_new_share_reaches_the_inbox(login, shared, unshared):
    """Removing B from a Foo's members drops it from B's list; sharing another shows in B's inbox and list."""
    owner, member = await login("alice"), await login("bob")
    await expect(foo_item(member, "Plans")).to_be_visible()
    await expect(member.get_by_test_id("unread-count")).to_have_text("1")  # "Plans" was shared with bob

    await foo_item(owner, "Plans").click()
    await owner.get_by_label("Shared with").fill("")
    await owner.get_by_role("button", name="Save").click()
    await expect(foo_item(member, "Plans")).to_have_count(0, timeout=5_000)

    await foo_item(owner, "Second").click()
    await owner.get_by_label("Shared with").fill("bob")
    await owner.get_by_role("button", name="Save").click()
    await expect(member.get_by_test_id("unread-count")).to_have_text("2", timeout=5_000)
    await expect(foo_item(member, "Second")).to_be_visible(timeout=5_000)
    await member.get_by_role("button", name="Inbox").click()
    await expect(member.get_by_test_id("notification").first).to_contain_text("alice shared “Second” with you")
