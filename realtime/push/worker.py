"""The push worker: claim a batch, send it concurrently, record the outcomes, repeat.

``PushWorker.run()`` is the loop behind ``manage.py pushworker``. Each batch
is claimed in its own short transaction (``delivery_claim``), sent outside
any transaction through the backend of each device's kind (all sends of a
batch at once, on one asyncio loop with a keep-alive HTTP client per
backend), and recorded in one transaction (``delivery_record``). A failing
batch (database down, a bug) is logged and the loop goes on; cancellation is
never swallowed. ``stop()`` (SIGTERM/SIGINT) lets the batch in flight finish
and be recorded, then returns; a second ``stop()`` cancels at once, and the
leases of that batch expire and are reclaimed by any worker.

Database calls run in a thread (``sync_to_async``). The worker keeps its
connection open between batches and drops it after a database error if it
is no longer usable, so the next batch reconnects. Storing outcomes is
retried a few times (a deadlock, a dropped connection): the sends already
happened, and an outcome that is lost means sending again after the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.db import DatabaseError, connection

from realtime.conf import realtime_settings
from realtime.push.backends import PushBackend, get_backends
from realtime.push.backends.base import Outcome, Result
from realtime.push.messages import push_message
from realtime.push.models import Delivery
from realtime.push.queue import Recorded, delivery_claim, delivery_record

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Tries to store a batch's outcomes (a deadlock or a dropped connection is retried: the sends already happened).
RECORD_ATTEMPTS = 3


def _db(fn: Callable[..., T]) -> Callable[..., Any]:
    """``fn`` as an awaitable run on the database thread; a broken connection is closed for the next call."""

    def call(*args: Any, **kwargs: Any) -> T:
        try:
            return fn(*args, **kwargs)
        except DatabaseError:
            connection.close_if_unusable_or_obsolete()
            raise

    return sync_to_async(call, thread_sensitive=True)


def default_worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class PushWorker:
    """Sends due deliveries until stopped. Settings are read once, at construction."""

    def __init__(
        self,
        *,
        name: str | None = None,
        batch_size: int | None = None,
        lease_seconds: float | None = None,
        idle_seconds: float | None = None,
        backends: dict[str, PushBackend] | None = None,
    ) -> None:
        self.name = name or default_worker_name()
        self.batch_size = batch_size or realtime_settings.PUSH_BATCH_SIZE
        self.lease_seconds = realtime_settings.PUSH_LEASE_SECONDS if lease_seconds is None else lease_seconds
        self.idle_seconds = realtime_settings.PUSH_IDLE_SECONDS if idle_seconds is None else idle_seconds
        self.backends = get_backends() if backends is None else backends
        self.stats: Counter[str] = Counter()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[Any] | None = None

    def check(self) -> list[str]:
        """Validate every backend's configuration (raises ``ImproperlyConfigured``); return the configured kinds."""
        for backend in self.backends.values():
            backend.check()
        if self.lease_seconds < 3 * realtime_settings.PUSH_TIMEOUT:
            logger.warning(
                "REALTIME_PUSH_LEASE_SECONDS=%s is under three times REALTIME_PUSH_TIMEOUT=%s: a slow batch can "
                "outlive its lease and be sent twice. Raise the lease (docs/push.md).",
                self.lease_seconds,
                realtime_settings.PUSH_TIMEOUT,
            )
        return [kind for kind, backend in self.backends.items() if backend.is_configured()]

    def stop(self) -> None:
        """Finish the batch in flight, then return from ``run()``; called again, cancel at once."""
        if self._stopping.is_set() and self._task is not None:
            logger.warning("push worker %s: stopping now; unfinished leases expire and are retried", self.name)
            self._task.cancel()
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    async def run(self, *, burst: bool = False) -> None:
        """Work until ``stop()``; with ``burst``, return as soon as nothing is due."""
        self._task = asyncio.current_task()
        logger.info("push worker %s: started (batch %s, lease %ss)", self.name, self.batch_size, self.lease_seconds)
        try:
            while not self.stopping:
                try:
                    handled = await self.run_once()
                except Exception:
                    logger.exception("push worker %s: batch failed; retrying after %ss", self.name, self.idle_seconds)
                    handled = 0
                    self.stats["errors"] += 1
                if handled:
                    continue
                if burst:
                    break
                await self._idle()
        finally:
            await self.aclose()
            logger.info("push worker %s: stopped (%s)", self.name, dict(self.stats))

    async def drain(self) -> Counter[str]:
        """Run batches until nothing is due, then close the HTTP clients (tests and scripts; errors propagate)."""
        try:
            while await self.run_once():
                pass
        finally:
            await self.aclose()
        return self.stats

    async def _idle(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=self.idle_seconds)

    async def run_once(self) -> int:
        """Claim, send and record one batch; returns its size (0: nothing was due)."""
        deliveries = await _db(delivery_claim)(
            worker=self.name, limit=self.batch_size, lease_seconds=self.lease_seconds
        )
        if not deliveries:
            return 0
        messages: dict[int, dict[str, Any]] = {}
        outcomes = await asyncio.gather(*(self.attempt(delivery, messages) for delivery in deliveries))
        recorded = await self.record(list(zip(deliveries, outcomes, strict=True)))
        for outcome, row in zip(outcomes, recorded, strict=True):
            self.stats[str(row.status) if row.applied else "lease_lost"] += 1
            if outcome.result != Result.SENT:
                logger.log(
                    logging.INFO if outcome.result == Result.RETRY else logging.WARNING,
                    "push delivery %s (%s) %s: %s",
                    row.delivery_id,
                    outcome.result,
                    row.status,
                    outcome.error,
                )
        return len(deliveries)

    async def record(self, results: list[tuple[Delivery, Outcome]]) -> list[Recorded]:
        """Store the outcomes, retrying database errors: an outcome lost here means sending again after the lease."""
        for attempt in range(1, RECORD_ATTEMPTS + 1):
            try:
                return await _db(delivery_record)(results=results)
            except DatabaseError as exc:
                if attempt == RECORD_ATTEMPTS:
                    raise
                logger.warning("push worker %s: recording failed (%s); retrying", self.name, exc)
                await asyncio.sleep(0.1 * attempt)
        raise AssertionError("unreachable")

    async def attempt(self, delivery: Delivery, messages: dict[int, dict[str, Any]]) -> Outcome:
        """Send one delivery; any exception of a backend becomes a ``retry`` outcome (logged)."""
        device = delivery.device
        if not device.active:
            return Outcome.gone(f"device inactive: {device.deactivated_reason}".rstrip(": "))
        backend = self.backends.get(device.kind)
        if backend is None:
            return Outcome.rejected(f"No push backend for device kind {device.kind!r}.")
        if delivery.notification_id not in messages:
            messages[delivery.notification_id] = push_message(delivery.notification)
        try:
            return await backend.send(delivery=delivery, message=messages[delivery.notification_id])
        except Exception as exc:
            logger.exception("push delivery %s: %s backend failed", delivery.pk, device.kind)
            return Outcome.retry(f"{type(exc).__name__}: {exc}")

    async def aclose(self) -> None:
        for backend in self.backends.values():
            await backend.aclose()
