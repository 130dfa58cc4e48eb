"""When to try a failed delivery again: exponential backoff with jitter, never before Retry-After."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from realtime.conf import realtime_settings


def backoff_delay(*, attempts: int, retry_after: float | None = None) -> float:
    """Seconds to wait before attempt ``attempts + 1``.

    "Equal jitter": half of ``PUSH_BACKOFF_BASE * 2 ** (attempts - 1)``
    (capped at ``PUSH_BACKOFF_MAX``) plus a random share of the other half,
    so retries of many deliveries that failed together spread out. A
    provider's ``Retry-After`` is a floor: never retry earlier than asked.
    """
    base = realtime_settings.PUSH_BACKOFF_BASE
    ceiling = realtime_settings.PUSH_BACKOFF_MAX
    exponential = min(ceiling, base * 2 ** max(0, min(attempts - 1, 62)))
    delay = exponential / 2 + random.uniform(0, exponential / 2)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Parse a ``Retry-After`` header (delta-seconds or an HTTP date); ``None`` if absent or unparseable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
