"""``manage.py pushworker``: send queued push deliveries until SIGTERM (run as many as you like)."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from realtime.push.worker import PushWorker


class Command(BaseCommand):
    help = (
        "Claim due push deliveries, send them (Web Push, FCM, APNs, webhooks) and record the outcome, with "
        "retries and dead letters. Stops gracefully on SIGTERM/SIGINT (a second signal stops at once)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size", type=int, default=None, help="Deliveries per claim (REALTIME_PUSH_BATCH_SIZE)."
        )
        parser.add_argument("--lease", type=float, default=None, help="Lease seconds (REALTIME_PUSH_LEASE_SECONDS).")
        parser.add_argument(
            "--idle", type=float, default=None, help="Poll interval when idle (REALTIME_PUSH_IDLE_SECONDS)."
        )
        parser.add_argument(
            "--name", default=None, help="Worker name recorded on claimed rows (default host:pid:random)."
        )
        parser.add_argument("--burst", action="store_true", help="Exit as soon as nothing is due (cron, one-off runs).")

    def handle(
        self,
        *args: Any,
        batch_size: int | None,
        lease: float | None,
        idle: float | None,
        name: str | None,
        burst: bool,
        **options: Any,
    ) -> None:
        worker = PushWorker(name=name, batch_size=batch_size, lease_seconds=lease, idle_seconds=idle)
        kinds = worker.check()
        self.stderr.write(f"pushworker {worker.name}: sending {', '.join(kinds)}")
        asyncio.run(self._run(worker, burst=burst))
        if burst and worker.stats["errors"]:
            raise CommandError(f"{worker.stats['errors']} batch(es) failed; see the log above.")

    async def _run(self, worker: PushWorker, *, burst: bool) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, worker.stop)
        try:
            await worker.run(burst=burst)
        except asyncio.CancelledError:
            if not worker.stopping:
                raise
