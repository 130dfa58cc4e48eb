"""A token bucket: at most ``rate`` messages per second on average, ``burst`` at once."""

from __future__ import annotations

import time


class TokenBucket:
    def __init__(self, *, rate: float, burst: int, clock=time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.clock = clock
        self.updated = clock()

    def allow(self) -> bool:
        """Take one token if there is one; ``False`` means the message is over the limit."""
        if self.rate <= 0:
            return True
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True
