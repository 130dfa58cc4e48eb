"""``manage.py listen``: subscribe over a real WebSocket and print every frame (a debugging client).

    python manage.py listen --url ws://127.0.0.1:8000/ws/notifications/ --token <key> foo <hashid> [--since 17]
    python manage.py listen --token <key> inbox

Sends ``Origin`` and ``Authorization: Token`` like any non-browser client.
A server that is not there, refuses the handshake or closes the socket is
one line on stderr (``CommandError``), not a traceback. Needs the
``websockets`` package (``pip install django-realtime-subscriptions[listen]``),
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

from realtime import protocol

#: What a close code means to someone running this command (docs/protocol.md, "Close codes").
CLOSE_REASONS = {
    protocol.CLOSE_NOT_AUTHENTICATED: "the token was not accepted (check --token; seed_demo prints the tokens)",
    protocol.CLOSE_FORBIDDEN: "the user's access was revoked",
    protocol.CLOSE_TOO_MANY_SOCKETS: "the user has too many sockets open on that server",
    protocol.CLOSE_TRY_AGAIN: "the server is restarting or its channel layer is down; try again shortly",
}


class Command(BaseCommand):
    help = "Subscribe to a Foo (or your inbox) over /ws/notifications/ and print what arrives."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("object_type", help="e.g. foo, or inbox")
        parser.add_argument("id", nargs="?", help="the object's hashid (omit for inbox)")
        parser.add_argument("--token", required=True, help="a DRF token (seed_demo prints them)")
        parser.add_argument("--since", type=int, default=None, help="replay events after this seq")
        parser.add_argument(
            "--url", default="ws://127.0.0.1:8000/ws/notifications/", help="the endpoint (default: make run's)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if importlib.util.find_spec("websockets") is None:
            raise CommandError(
                "manage.py listen needs the websockets package: pip install django-realtime-subscriptions[listen]"
            )
        from websockets.exceptions import ConnectionClosedError, InvalidHandshake, InvalidURI

        url = options["url"]
        try:
            with contextlib.suppress(KeyboardInterrupt):
                asyncio.run(self.listen(**options))
        except InvalidURI:
            raise CommandError(f"--url {url} is not a WebSocket URL (ws://host:port/ws/notifications/).") from None
        except (TimeoutError, OSError) as exc:
            why = getattr(exc, "strerror", None) or type(exc).__name__
            raise CommandError(
                f"Could not connect to {url} ({why}): is the server running (make run)? Pass --url to listen elsewhere."
            ) from None
        except InvalidHandshake as exc:
            raise CommandError(f"{url} refused the WebSocket handshake: {exc}.") from None
        except ConnectionClosedError as exc:
            code = exc.rcvd.code if exc.rcvd else None
            reason = CLOSE_REASONS.get(code, "see the close codes in docs/protocol.md")
            raise CommandError(f"The server closed the socket with {code}: {reason}.") from None

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
