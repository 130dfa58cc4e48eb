"""``Follower``: follow a master's stream over WebSocket, fall back to its REST log, resync when history is lost.

    follower = Follower(master_url="https://users.example.com", stream="account",
                        handler=AccountHandler(), token="<DRF token of a user with auth.view_user>")
    await follower.run()

The follower subscribes with ``since``/``epoch`` of its stored position and
applies the replayed and live events (``realtime.mirror.position``: each
exactly once, in the transaction that moves the position). When the reply
says the replay would be too long (``reason: "limit"``), or an event leaves
a gap, it pages ``GET /api/notifications/?stream=&since=&epoch=`` instead,
then subscribes again. When the history is gone (another epoch, pruned, or
no stored position yet) it reads the stream's head, then the master's whole
paged list (``handler.get_list_path()``), and hands it to the handler's
``resync``. While the socket cannot be opened it pages the REST log between
retries. Retries back off exponentially with full jitter, capped; a
``reconnect`` frame from a server that is restarting says when to come back.
A refused credential (close 4401/4403, ``not_found`` or ``not_authenticated``
on subscribe, REST 401/403/404) ends ``run()`` with ``FollowerStopped``; any
other error (the follower's database, a handler bug) is logged, and retried
after the backoff: its transaction committed nothing.

Needs ``websockets`` and ``httpx`` (extra ``[mirror]``), imported when it runs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from typing import Any
from urllib.parse import urlsplit

from asgiref.sync import sync_to_async

from realtime import protocol
from realtime.mirror.handlers import MirrorHandler
from realtime.mirror.position import CATCH_UP, RESYNC, Outcome, events_apply, position_get, resync_apply

logger = logging.getLogger(__name__)

#: Close codes after which the same credential will not do.
FATAL_CLOSE_CODES = frozenset({protocol.CLOSE_NOT_AUTHENTICATED, protocol.CLOSE_FORBIDDEN})
FATAL_ERRORS = frozenset({protocol.NOT_FOUND, protocol.NOT_AUTHENTICATED, protocol.INVALID})


class FollowerStopped(Exception):
    """The master refused the follower for good (bad credential, no permission, no such stream)."""


class _CatchUp(Exception):
    """Page the REST log from the stored position, then subscribe again."""


class _Resync(Exception):
    """The history is gone: reload the whole list."""


def backoff_delay(*, attempt: int, base: float, cap: float) -> float:
    """Full jitter: a random wait between 0 and ``base * 2**attempt``, capped at ``cap`` seconds."""
    return random.uniform(0, min(cap, base * 2 ** min(attempt, 32)))


class Follower:
    """Keeps ``handler``'s local copy of the master's ``stream`` up to date, exactly once, for as long as it runs."""

    def __init__(
        self,
        *,
        master_url: str,
        stream: str,
        handler: MirrorHandler,
        token: str,
        name: str | None = None,
        page_size: int = 1000,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        ws_path: str = "/ws/notifications/",
        log_path: str = "/api/notifications/",
        timeout: float = 30.0,
    ) -> None:
        self.master_url = master_url.rstrip("/")
        self.stream = stream
        self.handler = handler
        self.token = token
        self.name = name or stream
        self.page_size = page_size
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.log_path = log_path
        self.timeout = timeout
        parts = urlsplit(self.master_url)
        self.ws_url = f"{'wss' if parts.scheme == 'https' else 'ws'}://{parts.netloc}{ws_path}"
        self.origin = f"{parts.scheme}://{parts.netloc}"
        #: Set whenever a subscribe was answered ``recovered: true``: the local copy is caught up.
        self.caught_up = asyncio.Event()
        #: Events applied by way of each path, and full resyncs: ``{"socket": n, "rest": n, "resyncs": n}``.
        self.stats = {"socket": 0, "rest": 0, "resyncs": 0}
        self._hint: float | None = None
        #: Failed connections since the last subscribe that was caught up (the backoff's exponent).
        self._attempt = 0
        self._client: Any = None

    # --- the loop ----------------------------------------------------------------

    async def run(self) -> None:
        """Follow until cancelled (or ``FollowerStopped``)."""
        import httpx

        headers = {"Authorization": f"Token {self.token}", "Accept": "application/json"}
        async with httpx.AsyncClient(headers=headers, timeout=self.timeout) as self._client:
            self._attempt = 0
            while True:
                try:
                    await self._follow_socket()
                except _CatchUp:
                    if await self._guarded(self._catch_up_rest):
                        continue
                except _Resync:
                    if await self._guarded(self._resync):
                        continue
                except FollowerStopped:
                    raise
                except Exception as exc:
                    if isinstance(exc, _socket_errors()):
                        logger.warning("%s: the socket to %s is unavailable (%s).", self.name, self.ws_url, _why(exc))
                        await self._guarded(self._catch_up_rest)  # the REST log, while the socket is down
                    else:
                        # The follower's database, or a handler bug: nothing was committed; log, back off, retry.
                        logger.exception("%s: applying failed; retrying.", self.name)
                delay = self._hint if self._hint is not None else self._backoff(self._attempt)
                self._hint = None
                self._attempt += 1
                logger.info("%s: reconnecting in %.2fs.", self.name, delay)
                await asyncio.sleep(delay)

    def _backoff(self, attempt: int) -> float:
        return backoff_delay(attempt=attempt, base=self.backoff_base, cap=self.backoff_max)

    async def _guarded(self, step: Any) -> bool:
        """Run a REST step (and the resync it may ask for); False when the master could not be reached."""
        import httpx

        try:
            try:
                await step()
            except _Resync:
                await self._resync()
        except _CatchUp:
            return True  # the next subscribe replays from the new position
        except (httpx.TransportError, httpx.HTTPStatusError, ValueError) as exc:
            logger.warning("%s: the REST API of %s is unavailable (%s).", self.name, self.master_url, _why(exc))
            return False
        return True

    # --- the socket --------------------------------------------------------------

    async def _follow_socket(self) -> None:
        """One connection: subscribe from the stored position, apply what comes; return when the socket ends."""
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed

        position = await sync_to_async(position_get)(name=self.name)
        if position is None:
            raise _Resync()
        subscribe: dict[str, Any] = {"action": protocol.SUBSCRIBE, "request_id": "follow", "since": position.seq}
        object_type, _, object_id = self.stream.partition(".")
        subscribe["object_type"] = object_type
        if object_id:
            subscribe["id"] = object_id
        if position.epoch:
            subscribe["epoch"] = position.epoch
        async with connect(
            self.ws_url,
            origin=self.origin,
            additional_headers={"Authorization": f"Token {self.token}"},
            subprotocols=[protocol.SUBPROTOCOL_EVENTS],
            max_size=None,
            open_timeout=self.timeout,
        ) as ws:
            await ws.send(json.dumps(subscribe))
            try:
                async for text in ws:
                    await self._on_frame(json.loads(text))
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd else None
                if code in FATAL_CLOSE_CODES:
                    raise FollowerStopped(f"{self.ws_url} closed the socket with {code}: check the token.") from None
                raise
            code = ws.close_code
            if code in FATAL_CLOSE_CODES:
                raise FollowerStopped(f"{self.ws_url} closed the socket with {code}: check the token.")
            logger.info("%s: the master closed the socket (%s).", self.name, code)

    async def _on_frame(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == protocol.EVENTS:
            await self._apply(frame["events"], via="socket")
        elif kind == protocol.SUBSCRIBED:
            if not frame.get("recovered"):
                logger.info("%s: not replayed over the socket (%s).", self.name, frame.get("reason"))
                raise _CatchUp() if frame.get("reason") == "limit" else _Resync()
            self.caught_up.set()
            self._attempt = 0
            logger.info("%s: caught up at %s:%s.", self.name, frame.get("epoch"), frame.get("seq"))
        elif kind == protocol.RECONNECT:
            self._hint = (frame.get("after_ms", 0) + random.uniform(0, frame.get("spread_ms", 0))) / 1000
        elif kind == protocol.ERROR:
            if frame.get("code") in FATAL_ERRORS:
                raise FollowerStopped(f"subscribing to {self.stream!r} failed: {frame.get('code')}: {frame}")
            raise _CatchUp()  # e.g. rate_limited: page the log, then try again
        elif kind == protocol.UNSUBSCRIBED:
            raise _CatchUp()
        elif isinstance(frame.get("meta"), dict) and frame["meta"].get("stream") == self.stream:
            await self._apply([frame], via="socket")

    async def _apply(self, events: list[dict[str, Any]], *, via: str) -> Outcome:
        outcome = await sync_to_async(events_apply)(name=self.name, events=events, handler=self.handler)
        self.stats[via] += outcome.applied
        if outcome.needs == CATCH_UP:
            self.caught_up.clear()
            raise _CatchUp()
        if outcome.needs == RESYNC:
            self.caught_up.clear()
            raise _Resync()
        return outcome

    # --- REST --------------------------------------------------------------------

    async def _get(self, path: str, **params: Any) -> Any:
        response = await self._client.get(f"{self.master_url}{path}", params=params)
        if response.status_code == 410:
            raise _Resync()
        if response.status_code in (401, 403, 404):
            raise FollowerStopped(f"GET {response.url} answered {response.status_code}: check the token.")
        response.raise_for_status()
        return response.json()

    async def _catch_up_rest(self) -> None:
        """Page the REST log from the stored position until it reaches the stream's head."""
        position = await sync_to_async(position_get)(name=self.name)
        if position is None:
            raise _Resync()
        start = seq = position.seq
        epoch = position.epoch
        while True:
            params = {"stream": self.stream, "since": seq, "limit": self.page_size}
            if epoch:
                params["epoch"] = epoch
            page = await self._get(self.log_path, **params)
            if page["results"]:
                outcome = await self._apply(page["results"], via="rest")
                seq, epoch = outcome.seq, outcome.epoch
            if not page["results"] or seq >= page["seq"]:
                if seq > start:
                    logger.info("%s: paged the REST log from %s to %s:%s.", self.name, start, epoch, seq)
                return

    async def _resync(self) -> None:
        """Read the stream's head, then the master's whole list; replace the local copy and store the head."""
        head = await self._get(self.log_path, stream=self.stream, limit=1)
        objects: list[dict[str, Any]] = []
        url: str | None = f"{self.master_url}{self.handler.get_list_path()}"
        params: dict[str, Any] | None = {"limit": self.page_size}
        while url:
            response = await self._client.get(url, params=params)
            if response.status_code in (401, 403, 404):
                raise FollowerStopped(f"GET {response.url} answered {response.status_code}: check the token.")
            response.raise_for_status()
            body = response.json()
            if isinstance(body, list):
                objects.extend(body)
                break
            objects.extend(body["results"])
            url, params = body.get("next"), None
        await sync_to_async(resync_apply)(
            name=self.name,
            master=self.master_url,
            objects=objects,
            epoch=head["epoch"] or "",
            seq=head["seq"],
            handler=self.handler,
        )
        self.stats["resyncs"] += 1
        logger.info("%s: resynced %d objects at %s:%s.", self.name, len(objects), head["epoch"], head["seq"])


def _socket_errors() -> tuple[type[BaseException], ...]:
    from websockets.exceptions import InvalidHandshake, WebSocketException

    return (OSError, TimeoutError, InvalidHandshake, WebSocketException, EOFError)


def _why(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


__all__ = ["Follower", "FollowerStopped", "backoff_delay"]
