"""Liveness of a server process: the database and the channel layer, each by a real round trip.

``GET /healthz`` answers 200 when both work and 503 otherwise, with what
failed and how long each check took. The database check runs ``SELECT 1``;
the channel layer check sends a message to a fresh channel of this process
and receives it back, which on Redis goes through the server (a publish and
its delivery for the pub/sub layer). Load balancers and systemd watchdogs
poll it; details of a failure go to the log, not to the caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from typing import Any

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import connection
from django.http import HttpRequest, JsonResponse

logger = logging.getLogger(__name__)

#: Seconds each check may take before it counts as failed.
CHECK_TIMEOUT = 5.0


class HealthCheckFailed(Exception):
    pass


def database_ping() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        if cursor.fetchone() != (1,):
            raise HealthCheckFailed("SELECT 1 did not return 1")


async def database_check() -> None:
    await database_sync_to_async(database_ping)()


async def channel_layer_check() -> None:
    """Send a message to a new channel of this process and wait until it comes back."""
    layer = get_channel_layer()
    if layer is None:
        raise HealthCheckFailed("no channel layer is configured")
    token = secrets.token_hex(8)
    arrived: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    channel = await layer.new_channel()

    async def listen() -> None:
        # Receive until cancelled: layers release a channel only when its receive is cancelled.
        while True:
            message = await layer.receive(channel)
            if message.get("token") == token and not arrived.done():
                arrived.set_result(message)

    listener = asyncio.create_task(listen())
    try:
        await layer.send(channel, {"type": "health.ping", "token": token})
        await arrived
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener


CHECKS = {"database": database_check, "channel_layer": channel_layer_check}


async def health_report(*, seconds: float = CHECK_TIMEOUT) -> tuple[bool, dict[str, Any]]:
    """Run every check (each within ``seconds``); return ``(healthy, {"check": {"ok", "ms", "error"?}})``."""
    results: dict[str, Any] = {}
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            async with asyncio.timeout(seconds):
                await check()
        except Exception as exc:
            logger.warning("Health check %s failed.", name, exc_info=True)
            results[name] = {"ok": False, "error": type(exc).__name__}
        else:
            results[name] = {"ok": True}
        results[name]["ms"] = round((time.perf_counter() - started) * 1000, 2)
    return all(result["ok"] for result in results.values()), results


async def healthz_view(request: HttpRequest) -> JsonResponse:
    """``GET /healthz``: 200 ``{"status": "ok", ...}`` or 503 ``{"status": "unavailable", ...}``."""
    healthy, checks = await health_report()
    status = "ok" if healthy else "unavailable"
    return JsonResponse({"status": status, "checks": checks}, status=200 if healthy else 503)
