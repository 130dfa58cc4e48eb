"""Receiving from the channel layer without letting one of its errors end the socket.

channels-redis raises from ``receive`` while Redis restarts (a refused
connection, or the pub/sub reconnect race "readuntil() called while another
coroutine is already waiting"). Channels would let that end the consumer,
and the client would lose a socket that the layer is about to serve again.
``resilient_receive`` logs the first failure, retries with a capped
exponential backoff, and logs again when the layer answers; cancellation
goes through untouched.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

logger = logging.getLogger(__name__)

#: First and longest wait between attempts, in seconds.
RETRY_FIRST, RETRY_MAX = 0.1, 5.0


def resilient_receive(layer: Any, channel: str) -> Callable[[], Awaitable[dict[str, Any]]]:
    """A ``receive()`` for ``channel`` that survives layer errors (for ``await_many_dispatch``)."""

    async def receive() -> dict[str, Any]:
        delay = RETRY_FIRST
        failed = False
        while True:
            try:
                message = await layer.receive(channel)
            except Exception as exc:
                if not failed:
                    logger.warning(
                        "Receiving from the channel layer failed (%s: %s); retrying.", type(exc).__name__, exc
                    )
                    failed = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)
                continue
            if failed:
                logger.info("The channel layer answers again.")
            return message

    return receive
