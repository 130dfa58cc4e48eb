"""Receiving from the channel layer through its errors (``realtime.layers.resilient_receive``).

The layer is Channels' real in-memory layer, made to fail a given number of
times first: what is tested is our retry, not the layer.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from channels.layers import InMemoryChannelLayer

from realtime import layers
from realtime.layers import resilient_receive


class FailingLayer(InMemoryChannelLayer):
    """An in-memory layer whose first ``failures`` receives raise ``error`` (channels-redis, Redis down)."""

    def __init__(self, *, failures: int, error: Exception) -> None:
        super().__init__()
        self.failures = failures
        self.error = error
        self.attempts = 0
        self.failed = asyncio.Event()

    async def receive(self, channel: str) -> dict:
        self.attempts += 1
        if self.attempts <= self.failures:
            self.failed.set()
            raise self.error
        return await super().receive(channel)


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    monkeypatch.setattr(layers, "RETRY_FIRST", 0.01)
    monkeypatch.setattr(layers, "RETRY_MAX", 0.02)


async def test_a_receive_that_fails_then_succeeds_returns_the_message(caplog):
    """Three failures, then the message: it is returned, with one warning and one recovery line logged."""
    layer = FailingLayer(failures=3, error=ConnectionRefusedError(111, "Connect call failed"))
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "realtime.event", "seq": 1})
    with caplog.at_level(logging.INFO, logger="realtime.layers"):
        message = await asyncio.wait_for(resilient_receive(layer, channel)(), 5)
    assert message == {"type": "realtime.event", "seq": 1}
    assert layer.attempts == 4
    assert [(r.levelname, r.getMessage().split(" (")[0]) for r in caplog.records] == [
        ("WARNING", "Receiving from the channel layer failed"),
        ("INFO", "The channel layer answers again."),
    ]


async def test_channels_redis_reconnect_race_is_retried():
    """The pub/sub race of a Redis restart ("readuntil() called while another coroutine ...") is retried too."""
    race = RuntimeError("readuntil() called while another coroutine is already waiting for incoming data")
    layer = FailingLayer(failures=1, error=race)
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "ping"})
    assert await asyncio.wait_for(resilient_receive(layer, channel)(), 5) == {"type": "ping"}


async def test_a_healthy_receive_logs_nothing(caplog):
    """Without failures the wrapper is transparent."""
    layer = FailingLayer(failures=0, error=RuntimeError())
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "ping"})
    with caplog.at_level(logging.DEBUG, logger="realtime.layers"):
        assert await resilient_receive(layer, channel)() == {"type": "ping"}
    assert caplog.records == []


async def test_cancellation_while_waiting_for_a_message_goes_through():
    """Cancelling the receive (the socket closed) raises CancelledError; it is not retried."""
    layer = FailingLayer(failures=0, error=RuntimeError())
    channel = await layer.new_channel()
    task = asyncio.create_task(resilient_receive(layer, channel)())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert layer.attempts == 1


async def test_cancellation_during_the_backoff_goes_through(monkeypatch):
    """A receive cancelled while it waits to retry a failed layer ends at once."""
    monkeypatch.setattr(layers, "RETRY_FIRST", 30)
    layer = FailingLayer(failures=1, error=ConnectionError("down"))
    channel = await layer.new_channel()
    task = asyncio.create_task(resilient_receive(layer, channel)())
    await asyncio.wait_for(layer.failed.wait(), 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 1)


async def test_the_wait_between_attempts_doubles_up_to_the_maximum(monkeypatch):
    """Backoff: RETRY_FIRST, doubled each time, never above RETRY_MAX."""
    monkeypatch.setattr(layers, "RETRY_FIRST", 0.01)
    monkeypatch.setattr(layers, "RETRY_MAX", 0.04)
    waits: list[float] = []
    sleep = asyncio.sleep

    async def recording_sleep(delay: float) -> None:
        waits.append(delay)
        await sleep(0)

    monkeypatch.setattr(layers.asyncio, "sleep", recording_sleep)
    layer = FailingLayer(failures=5, error=ConnectionError("down"))
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "ping"})
    await resilient_receive(layer, channel)()
    assert waits == [0.01, 0.02, 0.04, 0.04, 0.04]
