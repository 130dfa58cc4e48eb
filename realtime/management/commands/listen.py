"""``manage.py listen``: subscribe over a real WebSocket and print every frame (a debugging client).

    python manage.py listen --token <key> foo <hashid> [--since 17]
    python manage.py listen --token <key> inbox

Sends ``Origin`` and ``Authorization: Token`` like any non-browser client.
Needs the ``websockets`` package (``pip install django-realtime-subscriptions[listen]``),
imported only when the command runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
from typing import Any
from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Subscribe to a Foo (or your inbox) over /ws/notifications/ and print what arrives."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("object_type", help="e.g. foo, or inbox")
        parser.add_argument("id", nargs="?", help="the object's hashid (omit for inbox)")
        parser.add_argument("--token", required=True, help="a DRF token (seed_demo prints them)")
        parser.add_argument("--since", type=int, default=None, help="replay events after this seq")
        parser.add_argument("--url", default="ws://127.0.0.1:8000/ws/notifications/")

    def handle(self, *args: Any, **options: Any) -> None:
        if importlib.util.find_spec("websockets") is None:
            raise CommandError(
                "manage.py listen needs the websockets package: pip install django-realtime-subscriptions[listen]"
            )
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(self.listen(**options))

    async def listen(self, *, object_type: str, id: str | None, token: str, since: int | None, url: str, **_: Any):
        parts = urlsplit(url)
        origin = f"{'https' if parts.scheme == 'wss' else 'http'}://{parts.netloc}"
        message: dict[str, Any] = {"action": "subscribe", "request_id": "listen", "object_type": object_type}
        if id:
            message["id"] = id
        if since is not None:
            message["since"] = since
        from websockets.asyncio.client import connect

        async with connect(url, origin=origin, additional_headers={"Authorization": f"Token {token}"}) as ws:
            await ws.send(json.dumps(message))
            async for frame in ws:
                self.stdout.write(frame if isinstance(frame, str) else repr(frame))
