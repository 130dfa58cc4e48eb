"""``manage.py push_vapid_keys``: generate a VAPID key pair for Web Push."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from realtime.push.vapid import vapid_keys_generate


class Command(BaseCommand):
    help = "Print a new VAPID key pair as environment variables (keep the private key secret)."

    def handle(self, *args: Any, **options: Any) -> None:
        private, public = vapid_keys_generate()
        self.stdout.write(f"REALTIME_PUSH_VAPID_PRIVATE_KEY={private}\n")
        self.stdout.write(
            f"# Public key (browsers' applicationServerKey; served at /api/push/vapid-public-key): {public}\n"
        )
        self.stdout.write("# Also set REALTIME_PUSH_VAPID_SUBJECT=mailto:you@example.com (or your https:// URL).\n")
