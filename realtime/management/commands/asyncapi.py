"""``manage.py asyncapi``: print the AsyncAPI 3.0 document of ``/ws/notifications/`` (JSON).

    python manage.py asyncapi > frontend/src/realtime/asyncapi.json
    python manage.py asyncapi --host example.com --protocol wss   # with a server entry

The same document ``GET /api/asyncapi/`` serves (``realtime.asyncapi``).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from realtime.asyncapi import asyncapi_document


class Command(BaseCommand):
    help = "Print the AsyncAPI document of the WebSocket endpoint, generated from the protocol and the live models."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", help="add a server entry for this host (e.g. example.com or 127.0.0.1:8000)")
        parser.add_argument("--protocol", default="ws", choices=["ws", "wss"], help="the server entry's protocol")

    def handle(self, *args: Any, host: str | None, protocol: str, **options: Any) -> None:
        server = {"host": host, "protocol": protocol} if host else None
        self.stdout.write(json.dumps(asyncapi_document(server=server), indent=2, ensure_ascii=False))
