"""HMAC signatures of webhook deliveries, for the sender and for receivers to verify.

The worker sends ``X-Realtime-Signature: t=<unix time>,v1=<hex>`` where the
hex is HMAC-SHA256 over ``b"<t>." + body`` with the device's secret. A
receiver recomputes it (``webhook_verify``), compares in constant time, and
rejects timestamps older than its tolerance, so a captured request cannot be
replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Realtime-Signature"
DELIVERY_HEADER = "X-Realtime-Delivery"
EVENT_HEADER = "X-Realtime-Event"


def _digest(*, secret: str, body: bytes, timestamp: int) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def webhook_sign(*, secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The ``X-Realtime-Signature`` header value for ``body``."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={_digest(secret=secret, body=body, timestamp=timestamp)}"


def webhook_verify(*, secret: str, body: bytes, header: str, tolerance: float = 300, now: float | None = None) -> bool:
    """True when ``header`` is a valid signature of ``body`` made within ``tolerance`` seconds of ``now``."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = _digest(secret=secret, body=body, timestamp=timestamp)
    return hmac.compare_digest(expected, parts.get("v1", ""))
