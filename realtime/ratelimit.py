"""A token bucket: at most ``rate`` units per second on average, ``burst`` at once.

Units are messages for the per-socket and per-user message limits, and
replayed events for the replay budget (``take``, which may run into debt:
a replay's cost is known only once it has been read).
"""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    def __init__(self, *, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.clock = clock
        self.updated = clock()

    @property
    def unlimited(self) -> bool:
        return self.rate <= 0

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def allow(self, cost: float = 1) -> bool:
        """Take ``cost`` tokens if there are that many; ``False`` means the request is over the limit."""
        if self.unlimited:
            return True
        self._refill()
        if self.tokens < cost:
            return False
        self.tokens -= cost
        return True

    def available(self) -> bool:
        """Whether any token is left (the bucket is not in debt)."""
        if self.unlimited:
            return True
        self._refill()
        return self.tokens >= 1

    def take(self, cost: float) -> None:
        """Take ``cost`` tokens even if that leaves the bucket in debt (refilled at ``rate``)."""
        if not self.unlimited:
            self._refill()
            self.tokens -= cost

    def retry_after(self, cost: float = 1) -> float:
        """Seconds until ``cost`` tokens are available."""
        if self.unlimited:
            return 0.0
        self._refill()
        return max(0.0, (cost - self.tokens) / self.rate)
