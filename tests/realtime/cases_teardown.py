"""Cases run by an inner pytest (``test_conftest.py``), never collected by the suite itself."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_frame_that_never_comes(connect, alice):
    """Fails on purpose: waits for a frame the server never sends."""
    ws = await connect(alice)
    await ws.receive_json_from(timeout=0.1)


async def test_the_next_test_is_unaffected(connect, alice):
    """Passes when the previous test's teardown closed its socket and flushed the database."""
    ws = await connect(alice)
    await ws.send_json_to({"action": "ping"})
    assert await ws.receive_json_from() == {"type": "pong"}
