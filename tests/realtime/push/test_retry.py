"""Backoff grows exponentially with jitter, is capped, and never undercuts Retry-After."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from realtime.push.retry import backoff_delay, retry_after_seconds


@pytest.fixture(autouse=True)
def _backoff(settings):
    settings.REALTIME = {**settings.REALTIME, "PUSH_BACKOFF_BASE": 10.0, "PUSH_BACKOFF_MAX": 300.0}


@pytest.mark.parametrize(("attempts", "full"), [(1, 10.0), (2, 20.0), (3, 40.0), (5, 160.0), (6, 300.0), (50, 300.0)])
def test_backoff_is_exponential_with_equal_jitter_and_capped(attempts, full):
    """The delay after attempt n lies in [d/2, d] for d = min(max, base * 2^(n-1))."""
    delays = [backoff_delay(attempts=attempts) for _ in range(200)]
    assert all(full / 2 <= delay <= full for delay in delays)
    assert len(set(delays)) > 1, "jittered"


def test_retry_after_is_a_floor():
    """A Retry-After longer than the backoff wins; a shorter one does not shorten the backoff."""
    assert backoff_delay(attempts=1, retry_after=600) == 600
    assert backoff_delay(attempts=1, retry_after=1) >= 5


def test_retry_after_parses_seconds_and_http_dates():
    """Retry-After is delta-seconds or an HTTP date; anything else is ignored."""
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=90), usegmt=True), now=now) == 90
    assert retry_after_seconds(format_datetime(now - timedelta(seconds=90), usegmt=True), now=now) == 0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None
