"""``manage.py reset_stream <name>``: forget a stream's history and give it a new epoch."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from realtime.log import stream_reset
from realtime.registry import registry


class Command(BaseCommand):
    help = "Delete a stream's notifications and change its epoch; its clients reload on their next resubscribe."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("stream", help="Stream name, e.g. foo.jR3kq9Wz or user.Xk2mPq8a")

    def handle(self, *args: Any, stream: str, **options: Any) -> None:
        ref = registry.parse_stream(stream)
        if ref is None:
            raise CommandError(f"{stream!r} is not a stream name (<type>.<id> or user.<id>).")
        head = stream_reset(stream=ref)
        if head is None:
            raise CommandError(f"Stream {stream} has no history.")
        self.stdout.write(f"Reset {head.name}: epoch {head.epoch}, history starts after seq {head.pruned_through}.")
