"""``manage.py follow <master-url> <stream> --handler dotted.path``: keep a local copy of a master's stream.

    MIRROR_TOKEN=<key> python manage.py follow https://users.example.com account \
        --handler accounts.mirror.AccountHandler

Runs until stopped (Ctrl-C, SIGTERM, SIGKILL: the position is committed with
each change, so a restart goes on where the last commit left off). The
token belongs to a master user allowed to read the stream (for a type's
stream, the model's ``view`` permission). Needs the ``[mirror]`` extra.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.module_loading import import_string

from realtime.mirror.handlers import MirrorHandler

TOKEN_VARIABLE = "MIRROR_TOKEN"


class Command(BaseCommand):
    help = "Follow a stream of another service (the master) and apply its events here, exactly once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("master_url", help="the master's base URL, e.g. https://users.example.com")
        parser.add_argument("stream", help="the stream to follow, e.g. account (a type's stream)")
        parser.add_argument("--handler", required=True, help="dotted path of a MirrorHandler subclass")
        parser.add_argument("--token", default=None, help=f"a DRF token of the master (default: ${TOKEN_VARIABLE})")
        parser.add_argument("--name", default=None, help="the name the position is stored under (default: stream)")
        parser.add_argument("--page-size", type=int, default=1000, help="events and objects per REST page")
        parser.add_argument("--backoff-max", type=float, default=30.0, help="longest wait between retries (s)")

    def handle(self, *args: Any, **options: Any) -> None:
        for module in ("websockets", "httpx"):
            if importlib.util.find_spec(module) is None:
                raise CommandError(
                    f"manage.py follow needs {module}: pip install django-realtime-subscriptions[mirror]"
                )
        token = options["token"] or os.environ.get(TOKEN_VARIABLE)
        if not token:
            raise CommandError(f"Pass --token or set {TOKEN_VARIABLE}: a token of a master user who may read it.")
        try:
            handler_class = import_string(options["handler"])
        except ImportError as exc:
            raise CommandError(f"--handler {options['handler']}: {exc}") from None
        handler = handler_class() if isinstance(handler_class, type) else handler_class
        if not isinstance(handler, MirrorHandler):
            raise CommandError(f"--handler {options['handler']} is not a realtime.mirror.handlers.MirrorHandler.")
        from realtime.mirror.follower import Follower, FollowerStopped

        if not logging.getLogger("realtime.mirror").handlers and not logging.getLogger().handlers:
            logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        follower = Follower(
            master_url=options["master_url"],
            stream=options["stream"],
            handler=handler,
            token=token,
            name=options["name"],
            page_size=options["page_size"],
            backoff_max=options["backoff_max"],
        )
        self.stdout.write(f"Following {options['stream']} from {options['master_url']}.")
        self.stdout.flush()
        try:
            with contextlib.suppress(KeyboardInterrupt):
                asyncio.run(follower.run())
        except FollowerStopped as exc:
            raise CommandError(str(exc)) from None
