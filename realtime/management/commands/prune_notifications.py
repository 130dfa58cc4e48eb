"""``manage.py prune_notifications``: apply the log's retention policy (run it from cron/systemd timers).

Deletes notifications older than ``--days`` (``REALTIME_RETENTION_DAYS``)
and beyond the newest ``--keep`` per stream
(``REALTIME_RETENTION_MAX_PER_STREAM``), and used or expired WebSocket
tickets. Streams keep their epoch; clients asking from before the pruned
horizon get ``recovered: false`` and reload.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from realtime.conf import realtime_settings
from realtime.log import notifications_prune
from realtime.tickets import tickets_prune


class Command(BaseCommand):
    help = "Delete old notifications (by age and per-stream count) and spent WebSocket tickets."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None, help="Keep this many days (0 = no age limit).")
        parser.add_argument("--keep", type=int, default=None, help="Keep this many per stream (0 = no count limit).")

    def handle(self, *args: Any, days: int | None, keep: int | None, **options: Any) -> None:
        days = realtime_settings.RETENTION_DAYS if days is None else days
        keep = realtime_settings.RETENTION_MAX_PER_STREAM if keep is None else keep
        deleted = notifications_prune(older_than_days=days or None, keep_per_stream=keep or None)
        tickets = tickets_prune()
        self.stdout.write(f"Deleted {deleted} notification(s) and {tickets} ticket(s).")
