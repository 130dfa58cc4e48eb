"""``manage.py push_requeue``: put dead-letter push deliveries back in the queue."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from realtime.push.models import Delivery
from realtime.push.queue import deliveries_requeue


class Command(BaseCommand):
    help = "Requeue dead letters (with a fresh attempt budget): given ids, or --all, optionally narrowed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ids", nargs="*", type=int, help="Delivery ids (as shown in the admin).")
        parser.add_argument("--all", action="store_true", help="Every dead letter (after the filters below).")
        parser.add_argument("--kind", help="Only deliveries to devices of this kind (webpush, fcm, apns, webhook).")
        parser.add_argument("--hours", type=float, help="Only dead letters that died within this many hours.")
        parser.add_argument("--dry-run", action="store_true", help="Count, change nothing.")

    def handle(
        self,
        *args: Any,
        ids: list[int],
        all: bool,
        kind: str | None,
        hours: float | None,
        dry_run: bool,
        **options: Any,
    ) -> None:
        if not ids and not all:
            raise CommandError("Name delivery ids, or pass --all.")
        dead = Delivery.objects.filter(status=Delivery.Status.DEAD)
        if ids:
            dead = dead.filter(pk__in=ids)
        if kind:
            dead = dead.filter(device__kind=kind)
        if hours is not None:
            dead = dead.filter(updated_at__gte=timezone.now() - timedelta(hours=hours))
        if dry_run:
            self.stdout.write(f"{dead.filter(device__active=True).count()} dead letter(s) would be requeued.")
            return
        count = deliveries_requeue(deliveries=dead)
        skipped = dead.count()
        self.stdout.write(f"Requeued {count} dead letter(s).")
        if skipped:
            self.stdout.write(f"{skipped} left dead: their device is inactive.")
