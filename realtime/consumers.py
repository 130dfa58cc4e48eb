"""``SubscriptionConsumer``: one WebSocket at ``/ws/notifications/``, many subscriptions.

Thin by design: decode the frame, validate it with a DRF serializer, delegate
to the log, reply. The ordering rules that make it lossless:

* subscribe joins the stream's group *before* reading the log, then sends the
  replay, then ``subscribed``; live events that arrived meanwhile wait in the
  channel layer and are dropped if their seq was already sent;
* a live event whose seq skips ahead (publishes of concurrent commits can
  arrive out of order, and a channel layer may drop a message) is preceded by
  the missing events read from the log, so the client sees seqs in order;
  the same catch-up runs when the process's ``StreamWatcher`` reports a head
  this socket has not reached (the last event before a quiet period was
  lost). Filling from the log re-runs the permission check first, since a
  lost event may have been the one that revoked access;
* an event whose transaction may have revoked this user's access is
  delivered only after a permission check, and only if no later visibility
  change makes its state one the user may not have been allowed to see
  (then it is skipped, and the client's gap detection reloads the object);
* delivery forwards the pre-encoded frame text: no serialization and no
  database query per delivered event, except such a permission check.

And the rules that keep one socket from hurting the process: every frame is
decoded by ``realtime.decoding`` (a bad one gets one ``invalid`` error);
messages are rate-limited per socket and per user, replays against a
per-socket budget; outgoing frames wait for a client that does not read
(``realtime.transport``), which is closed once it has not read for
``SEND_TIMEOUT``; and whatever ends the socket (a close, a crash, a
cancellation) releases its groups, watcher entries and counters.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from channels.utils import await_many_dispatch
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse
from django.utils.http import urlencode
from rest_framework import exceptions, serializers

from realtime import metrics, protocol
from realtime.conf import realtime_settings
from realtime.decoding import FrameRefused, FrameTooBig, decode_message
from realtime.exceptions import RateLimited, TooManySubscriptions, error_frame
from realtime.frames import event_frame
from realtime.layers import resilient_receive
from realtime.quotas import get_user_quotas
from realtime.ratelimit import TokenBucket
from realtime.serializers import MessageSerializer, SubscribeSerializer, TargetSerializer, request_id_of
from realtime.streams import StreamRef, group_name, user_group
from realtime.subscriptions import subscription_catch_up, subscription_open, subscriptions_check
from realtime.transport import ClientGone, ClientTooSlow, SendBuffer, send_buffer
from realtime.watcher import get_watcher, user_access_flags

logger = logging.getLogger(__name__)


@dataclass
class Subscription:
    stream: StreamRef
    #: Highest seq sent to the client (or the head when it subscribed without a position).
    last_seq: int
    #: The stream's latest visibility change that the socket's last permission check came after.
    checked_visibility: int = 0


class SubscriptionConsumer(AsyncJsonWebsocketConsumer):
    subscribe_serializer_class = SubscribeSerializer
    target_serializer_class = TargetSerializer

    # --- extension points ----------------------------------------------------

    def get_subscribe_serializer_class(self) -> type[serializers.Serializer]:
        """Validates a subscribe message's shape and resolves its stream (runs in the database thread)."""
        return self.subscribe_serializer_class

    def get_target_serializer(self, message: dict[str, Any]) -> serializers.Serializer:
        """Resolves which stream a message names, without the database."""
        return self.target_serializer_class(data=message, context={"user": self.user})

    def get_rate_limiter(self) -> TokenBucket:
        """The socket's own message rate (``RATE_LIMIT`` per second, ``RATE_BURST`` at once)."""
        return TokenBucket(rate=realtime_settings.RATE_LIMIT, burst=realtime_settings.RATE_BURST)

    def get_replay_budget(self) -> TokenBucket:
        """How many logged events the socket may have replayed (``REPLAY_BUDGET`` at once, ``REPLAY_RATE``/s)."""
        return TokenBucket(rate=realtime_settings.REPLAY_RATE, burst=realtime_settings.REPLAY_BUDGET)

    def get_send_buffer(self) -> SendBuffer:
        """Flow control of the socket's outgoing frames (``realtime.transport``)."""
        return send_buffer(
            self.base_send,
            high_water=realtime_settings.SEND_BUFFER_BYTES,
            timeout=realtime_settings.SEND_TIMEOUT,
        )

    # --- the ASGI application ------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        # Channels' own __call__, made robust: a channel layer that is down refuses the socket cleanly
        # (close code CLOSE_TRY_AGAIN) instead of failing the handshake with a 500; a layer error while
        # connected is retried instead of crashing the socket; and the socket's state is released
        # however it ends (disconnect, crash or cancellation).
        self.scope = scope
        self.base_send = send
        self.user = scope.get("user") or AnonymousUser()
        self.subscriptions: dict[str, Subscription] = {}
        self.closing = False
        self._released = False
        self._counted = self._user_counted = False
        self.outgoing = SendBuffer(send, timeout=0)
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        try:
            self.channel_name = await self.channel_layer.new_channel()
        except Exception as exc:
            logger.warning("Refusing a WebSocket: the channel layer is unavailable (%s: %s).", type(exc).__name__, exc)
            await self.refuse(receive, send, code=protocol.CLOSE_TRY_AGAIN)
            return
        try:
            await await_many_dispatch(
                [receive, resilient_receive(self.channel_layer, self.channel_name)], self.dispatch
            )
        except StopConsumer:
            pass
        finally:
            await self.release()

    @staticmethod
    async def refuse(receive: Any, send: Any, *, code: int) -> None:
        """Answer the handshake, then close at once with ``code`` (the client reads it as a reason)."""
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": code})

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels >= 4.2 awaits aclose_old_connections() (a hop to the database thread)
        # before every handler. Every database access here already goes through
        # database_sync_to_async, which manages connections itself, so skip that hop:
        # it would cost a thread round-trip per delivered event.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        try:
            await handler(message)
        except StopConsumer:
            raise
        except ClientGone:
            logger.debug("The client left while %s was handled.", message["type"])
        except ClientTooSlow:
            logger.info("Closing a WebSocket whose client has not read for %ss.", realtime_settings.SEND_TIMEOUT)
            await self.close(code=protocol.CLOSE_TOO_SLOW)
        except Exception:
            if message["type"].startswith("realtime."):
                # A database or layer error while catching up or rechecking must not close the socket (and
                # every other subscriber's of the stream with it): log, and let the watcher report the head again.
                logger.exception("Handling %s failed; the stream watcher retries.", message["type"])
                if "stream" in message:
                    get_watcher(self.channel_layer).forget(message["stream"])
                return
            logger.exception("Handling %s failed; closing the socket.", message["type"])
            await self.close(code=protocol.CLOSE_SERVER_ERROR)
            raise StopConsumer() from None

    # --- connection ------------------------------------------------------------

    async def connect(self) -> None:
        await self.accept()
        self.outgoing = self.get_send_buffer()
        metrics.connection_opened()
        self._counted = True
        if not self.user.is_authenticated:
            if not realtime_settings.ALLOW_ANONYMOUS:
                await self.close(code=protocol.CLOSE_NOT_AUTHENTICATED)
            return
        if not get_user_quotas().open(self.user.pk, self.channel_name):
            await self.close(code=protocol.CLOSE_TOO_MANY_SOCKETS)
            return
        self._user_counted = True
        self.limiter = self.get_rate_limiter()
        self.replay_budget = self.get_replay_budget()
        try:
            await self.channel_layer.group_add(user_group(self.user.pk), self.channel_name)
        except Exception as exc:
            logger.warning("Closing a new WebSocket: the channel layer is unavailable (%s).", exc)
            await self.close(code=protocol.CLOSE_TRY_AGAIN)
            return
        # The flags the user authenticated with: the watcher's baseline for noticing a lost recheck.
        get_watcher(self.channel_layer).watch_user(self.user.pk, self.channel_name, flags=user_access_flags(self.user))

    async def disconnect(self, code: int) -> None:
        await self.release()

    async def release(self) -> None:
        """Forget everything this socket registered; runs once, however the socket ended."""
        if self._released:
            return
        self._released = True
        self.closing = True
        self.outgoing.close()
        names = list(self.subscriptions)
        self.subscriptions.clear()
        groups = [group_name(name) for name in names]
        watcher = get_watcher(self.channel_layer)
        for name in names:
            watcher.unwatch(name, self.channel_name)
        if self._counted:
            metrics.connection_closed(subscriptions=len(names))
        if self._user_counted:
            get_user_quotas().close(self.user.pk, self.channel_name)
            watcher.unwatch_user(self.user.pk, self.channel_name)
            groups.append(user_group(self.user.pk))
        # Local state is released above; the layer may be down (or the task cancelled) from here on.
        for group in groups:
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except Exception as exc:
                logger.debug("Could not leave %s (%s); the layer expires it.", group, exc)

    async def send(self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False) -> None:
        if self.closing:
            raise ClientGone()
        await self.outgoing.send({"type": "websocket.send", "text": text_data})

    async def close(self, code: int | None = None, reason: str | None = None) -> None:
        if self.closing:
            return
        self.closing = True
        self.outgoing.close()
        await super().close(code=code)

    @classmethod
    async def encode_json(cls, content: dict[str, Any]) -> str:
        return protocol.encode(content)

    # --- client frames ---------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.closing:
            return
        try:
            message = decode_message(text=text_data, max_bytes=realtime_settings.MAX_FRAME_BYTES)
        except FrameTooBig:
            await self.close(code=protocol.CLOSE_MESSAGE_TOO_BIG)
            return
        except FrameRefused as exc:
            await self.send_json(protocol.error(protocol.INVALID, str(exc)))
            return
        request_id = request_id_of(message)
        try:
            if not self.allow_message():
                raise RateLimited()
            envelope = MessageSerializer(data=message)
            envelope.is_valid(raise_exception=True)
            handler = getattr(self, f"handle_{envelope.validated_data['action']}")
            await handler(message, request_id)
        except (ClientGone, ClientTooSlow, StopConsumer):
            raise
        except exceptions.APIException as exc:
            await self.send_json(error_frame(exc, request_id=request_id))
        except Exception:
            logger.exception("Unexpected error handling %r", message.get("action"))
            await self.send_json(protocol.error(protocol.SERVER_ERROR, "Server error.", request_id=request_id))

    def allow_message(self) -> bool:
        """The socket's own rate, then its user's (shared by all of their sockets in this process)."""
        if not hasattr(self, "limiter"):
            self.limiter = self.get_rate_limiter()
        if not self.limiter.allow():
            return False
        return not self.user.is_authenticated or get_user_quotas().allow_message(self.user.pk)

    async def handle_ping(self, message: dict[str, Any], request_id: str | int | None) -> None:
        await self.send_json(protocol.reply(protocol.PONG, request_id))

    async def handle_subscribe(self, message: dict[str, Any], request_id: str | int | None) -> None:
        stream = self.target(message)
        if stream.name not in self.subscriptions and len(self.subscriptions) >= realtime_settings.MAX_SUBSCRIPTIONS:
            raise TooManySubscriptions()
        if not hasattr(self, "replay_budget"):
            self.replay_budget = self.get_replay_budget()
        if message.get("since") is not None and not self.replay_budget.available():
            raise RateLimited("Too many replayed events; subscribe with `since` again later.")
        # Join first, then check and read: a change committed after the join is queued for us (with
        # its recheck); one committed before it is seen by the check and is in the read. Anything
        # both queued and read is dropped by seq below.
        await self.channel_layer.group_add(group_name(stream.name), self.channel_name)
        try:
            opened = await database_sync_to_async(subscription_open)(
                scope=self.scope,
                serializer_class=self.get_subscribe_serializer_class(),
                message=message,
                limit=realtime_settings.REPLAY_LIMIT,
            )
        except Exception as exc:
            # No subscription stays behind a failed subscribe, not even an earlier one to the same stream.
            await self.drop_subscription(stream.name)
            if isinstance(exc, exceptions.NotAuthenticated) and self.user.is_authenticated:
                await self.close(code=protocol.CLOSE_FORBIDDEN)  # the credential was revoked meanwhile
                return
            raise
        self.user, history = opened.user, opened.history
        self.replay_budget.take(len(history.notifications))
        for notification in history.notifications:
            await self.send(text_data=protocol.encode(event_frame(notification)))
        seq = max([history.seq, *(n.seq for n in history.notifications)])
        metrics.subscribed(new=stream.name not in self.subscriptions, replayed=len(history.notifications))
        self.subscriptions[stream.name] = Subscription(
            stream=stream, last_seq=seq, checked_visibility=history.visibility_seq
        )
        get_watcher(self.channel_layer).watch(stream.name, self.channel_name)
        frame = protocol.reply(
            protocol.SUBSCRIBED,
            request_id,
            stream=stream.name,
            epoch=history.epoch,
            seq=seq,
            recovered=history.recovered,
            replayed=len(history.notifications),
        )
        if history.reason is not None:
            frame["reason"] = history.reason
        if history.reason == "limit":
            query = urlencode({"stream": stream.name, "since": opened.data["since"], "epoch": history.epoch})
            frame["history"] = f"{reverse('realtime:notification-log')}?{query}"
        await self.send_json(frame)
        if history.notifications and history.notifications[-1].final:
            await self.end_subscription(stream.name, reason=protocol.REASON_DELETED)

    async def handle_unsubscribe(self, message: dict[str, Any], request_id: str | int | None) -> None:
        await self.end_subscription(self.target(message).name, request_id=request_id)

    def target(self, message: dict[str, Any]) -> StreamRef:
        serializer = self.get_target_serializer(message)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data["stream"]

    # --- channel layer messages ------------------------------------------------

    async def realtime_event(self, message: dict[str, Any]) -> None:
        subscription = self.subscriptions.get(message["stream"])
        if subscription is None or self.closing:
            return
        seq = message["seq"]
        if self.concerns_me(message.get("recheck")):
            # Before the duplicate check: an event replayed at subscribe time still revokes.
            checked = await database_sync_to_async(subscriptions_check)(scope=self.scope, streams=[subscription.stream])
            self.user = checked.user
            if not checked.allowed[0]:
                await self.end_subscription(subscription.stream.name, reason=protocol.REASON_REVOKED)
                return
            visibility_seq = checked.visibility[0]
            subscription.checked_visibility = max(subscription.checked_visibility, visibility_seq)
            if visibility_seq > seq:
                # Access changed again after this event: the user may not have been allowed to see its
                # state. Skip to the change; the client sees the gap and reloads over REST.
                subscription.last_seq = max(subscription.last_seq, visibility_seq - 1)
        if seq <= subscription.last_seq:
            return
        if message.get("final"):
            # The object is gone. Its last event carries only the id, so it is sent without a
            # permission check (which a deleted object fails), even after a gap.
            await self.send(text_data=message["text"])
            subscription.last_seq = seq
            await self.end_subscription(subscription.stream.name, reason=protocol.REASON_DELETED)
            return
        if seq > subscription.last_seq + 1 and not await self.catch_up(subscription, through=seq - 1, via="gap"):
            return
        if seq <= subscription.last_seq:
            return  # the catch-up skipped past it (a visibility change after it)
        await self.send(text_data=message["text"])
        metrics.delivered()
        subscription.last_seq = seq
        if message.get("visibility"):
            # Delivered in order, so the socket's check holds up to this change (which did not concern it).
            subscription.checked_visibility = max(subscription.checked_visibility, seq)

    async def realtime_sync(self, message: dict[str, Any]) -> None:
        """The stream's head, from the ``StreamWatcher``: fill from the log if a live event was lost."""
        subscription = self.subscriptions.get(message["stream"])
        if subscription is not None and not self.closing and message["seq"] > subscription.last_seq:
            await self.catch_up(subscription, through=message["seq"], via="sync")

    async def realtime_recheck(self, message: dict[str, Any]) -> None:
        """The user's access changed (flags, groups, credential, deletion): re-run every check."""
        if self.closing:
            return
        subscriptions = list(self.subscriptions.values())
        checked = await database_sync_to_async(subscriptions_check)(
            scope=self.scope, streams=[subscription.stream for subscription in subscriptions]
        )
        self.user = checked.user
        if not self.user.is_authenticated:
            await self.close(code=protocol.CLOSE_FORBIDDEN)
            return
        for subscription, ok in zip(subscriptions, checked.allowed, strict=True):
            if not ok:
                await self.end_subscription(subscription.stream.name, reason=protocol.REASON_REVOKED)

    # --- helpers -----------------------------------------------------------------

    async def catch_up(self, subscription: Subscription, *, through: int, via: str) -> bool:
        """Send the logged events after ``last_seq`` up to ``through``; ``False`` if the subscription ended."""
        result = await database_sync_to_async(subscription_catch_up)(
            scope=self.scope,
            stream=subscription.stream,
            after=subscription.last_seq,
            through=through,
            checked_visibility=subscription.checked_visibility,
        )
        self.user = result.user
        if self.subscriptions.get(subscription.stream.name) is not subscription:
            return False  # ended while the log was read
        subscription.last_seq = max(subscription.last_seq, result.skip_through)
        subscription.checked_visibility = max(subscription.checked_visibility, result.visibility_seq)
        for notification in result.notifications:
            await self.send(text_data=protocol.encode(event_frame(notification)))
            subscription.last_seq = notification.seq
        if result.notifications:
            metrics.replay(via=via, events=len(result.notifications))
        if result.end is not None:
            await self.end_subscription(subscription.stream.name, reason=result.end)
            return False
        return True

    def concerns_me(self, recheck: Any) -> bool:
        return recheck == "*" or (isinstance(recheck, list) and str(self.user.pk) in recheck)

    async def drop_subscription(self, name: str) -> None:
        """Forget a subscription (if any) and leave its group, without telling the client."""
        if self.subscriptions.pop(name, None) is not None:
            metrics.unsubscribed()
        await self.channel_layer.group_discard(group_name(name), self.channel_name)
        get_watcher(self.channel_layer).unwatch(name, self.channel_name)

    async def end_subscription(
        self, name: str, *, request_id: str | int | None = None, reason: str | None = None
    ) -> None:
        await self.drop_subscription(name)
        fields: dict[str, Any] = {"stream": name}
        if reason is not None:
            fields["reason"] = reason
        await self.send_json(protocol.reply(protocol.UNSUBSCRIBED, request_id, **fields))
