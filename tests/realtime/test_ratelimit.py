"""The token bucket allows bursts up to its size and refills at its rate."""

from __future__ import annotations

from realtime.ratelimit import TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refill():
    """After a burst the bucket refuses until time refills it."""
    clock = Clock()
    bucket = TokenBucket(rate=2, burst=3, clock=clock)
    assert [bucket.allow() for _ in range(4)] == [True, True, True, False]
    clock.now += 0.5
    assert bucket.allow() is True
    assert bucket.allow() is False


def test_refill_is_capped_at_the_burst():
    """A long idle period gives back at most ``burst`` tokens."""
    clock = Clock()
    bucket = TokenBucket(rate=100, burst=2, clock=clock)
    clock.now += 60
    assert [bucket.allow() for _ in range(3)] == [True, True, False]


def test_zero_rate_disables_the_limit():
    """rate=0 means no limit at all."""
    bucket = TokenBucket(rate=0, burst=0)
    assert all(bucket.allow() for _ in range(1000))
