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
* delivery forwards the pre-encoded frame text: no serialization and no
  database query per delivered event, except a permission recheck when the
  event says visibility may have changed.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse
from django.utils.http import urlencode
from rest_framework import exceptions, serializers

from realtime import metrics, protocol
from realtime.conf import realtime_settings
from realtime.exceptions import RateLimited, TooManySubscriptions, error_frame
from realtime.frames import event_frame
from realtime.ratelimit import TokenBucket
from realtime.serializers import MessageSerializer, SubscribeSerializer, TargetSerializer, request_id_of
from realtime.streams import StreamRef, group_name, user_group
from realtime.subscriptions import subscription_catch_up, subscription_open, subscriptions_check
from realtime.watcher import get_watcher

logger = logging.getLogger(__name__)


@dataclass
class Subscription:
    stream: StreamRef
    #: Highest seq sent to the client (or the head when it subscribed without a position).
    last_seq: int


class SubscriptionConsumer(AsyncJsonWebsocketConsumer):
    subscribe_serializer_class = SubscribeSerializer
    target_serializer_class = TargetSerializer

    # --- extension points ----------------------------------------------------

    def get_subscribe_serializer_class(self) -> type[serializers.Serializer]:
        """Validates a subscribe message completely, permission check included (runs in the database thread)."""
        return self.subscribe_serializer_class

    def get_target_serializer(self, message: dict[str, Any]) -> serializers.Serializer:
        """Resolves which stream a message names, without the database."""
        return self.target_serializer_class(data=message, context={"user": self.user})

    def get_rate_limiter(self) -> TokenBucket:
        return TokenBucket(rate=realtime_settings.RATE_LIMIT, burst=realtime_settings.RATE_BURST)

    # --- connection ------------------------------------------------------------

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
        except Exception:
            if not message["type"].startswith("realtime."):
                raise
            # A database error while catching up or rechecking must not close the socket (and every
            # other subscriber's of the stream with it): log, and let the watcher report the head again.
            logger.exception("Handling %s failed; the stream watcher retries.", message["type"])
            if "stream" in message:
                get_watcher(self.channel_layer).forget(message["stream"])

    async def connect(self) -> None:
        self.user = self.scope.get("user") or AnonymousUser()
        self.subscriptions: dict[str, Subscription] = {}
        self.limiter = self.get_rate_limiter()
        await self.accept()
        metrics.connection_opened()
        if not self.user.is_authenticated:
            if not realtime_settings.ALLOW_ANONYMOUS:
                await self.close(code=protocol.CLOSE_NOT_AUTHENTICATED)
            return
        await self.channel_layer.group_add(user_group(self.user.pk), self.channel_name)
        get_watcher(self.channel_layer).watch_user(self.user.pk, self.channel_name)

    async def disconnect(self, code: int) -> None:
        metrics.connection_closed(subscriptions=len(getattr(self, "subscriptions", {})))
        for name in list(getattr(self, "subscriptions", {})):
            await self.channel_layer.group_discard(group_name(name), self.channel_name)
            get_watcher(self.channel_layer).unwatch(name, self.channel_name)
        user = self.scope.get("user")
        if user is not None and user.is_authenticated:
            await self.channel_layer.group_discard(user_group(user.pk), self.channel_name)
            get_watcher(self.channel_layer).unwatch_user(user.pk, self.channel_name)

    @classmethod
    async def encode_json(cls, content: dict[str, Any]) -> str:
        return protocol.encode(content)

    # --- client frames ---------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is None:
            await self.send_json(protocol.error(protocol.INVALID, "Binary frames are not supported; send JSON text."))
            return
        limit = realtime_settings.MAX_FRAME_BYTES
        if len(text_data) > limit or len(text_data.encode()) > limit:
            await self.close(code=protocol.CLOSE_MESSAGE_TOO_BIG)
            return
        try:
            message = json.loads(text_data)
        except ValueError:
            await self.send_json(protocol.error(protocol.INVALID, "The frame is not valid JSON."))
            return
        if not isinstance(message, dict):
            await self.send_json(protocol.error(protocol.INVALID, "A message must be a JSON object."))
            return
        request_id = request_id_of(message)
        try:
            if not self.limiter.allow():
                raise RateLimited()
            envelope = MessageSerializer(data=message)
            envelope.is_valid(raise_exception=True)
            handler = getattr(self, f"handle_{envelope.validated_data['action']}")
            await handler(message, request_id)
        except exceptions.APIException as exc:
            await self.send_json(error_frame(exc, request_id=request_id))
        except Exception:
            logger.exception("Unexpected error handling %r", message.get("action"))
            await self.send_json(protocol.error(protocol.SERVER_ERROR, "Server error.", request_id=request_id))

    async def handle_ping(self, message: dict[str, Any], request_id: str | int | None) -> None:
        await self.send_json(protocol.reply(protocol.PONG, request_id))

    async def handle_subscribe(self, message: dict[str, Any], request_id: str | int | None) -> None:
        stream = self.target(message)
        if stream.name not in self.subscriptions and len(self.subscriptions) >= realtime_settings.MAX_SUBSCRIPTIONS:
            raise TooManySubscriptions()
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
        for notification in history.notifications:
            await self.send(text_data=protocol.encode(event_frame(notification)))
        seq = max([history.seq, *(n.seq for n in history.notifications)])
        metrics.subscribed(new=stream.name not in self.subscriptions, replayed=len(history.notifications))
        self.subscriptions[stream.name] = Subscription(stream=stream, last_seq=seq)
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
        if subscription is None:
            return
        seq = message["seq"]
        if self.concerns_me(message.get("recheck")):
            # Before the duplicate check: an event replayed at subscribe time still revokes.
            self.user, (allowed,) = await database_sync_to_async(subscriptions_check)(
                scope=self.scope, streams=[subscription.stream]
            )
            if not allowed:
                await self.end_subscription(subscription.stream.name, reason=protocol.REASON_REVOKED)
                return
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
        await self.send(text_data=message["text"])
        metrics.delivered()
        subscription.last_seq = seq

    async def realtime_sync(self, message: dict[str, Any]) -> None:
        """The stream's head, from the ``StreamWatcher``: fill from the log if a live event was lost."""
        subscription = self.subscriptions.get(message["stream"])
        if subscription is not None and message["seq"] > subscription.last_seq:
            await self.catch_up(subscription, through=message["seq"], via="sync")

    async def realtime_recheck(self, message: dict[str, Any]) -> None:
        """The user's access changed (flags, groups, credential, deletion): re-run every check."""
        subscriptions = list(self.subscriptions.values())
        self.user, allowed = await database_sync_to_async(subscriptions_check)(
            scope=self.scope, streams=[subscription.stream for subscription in subscriptions]
        )
        if not self.user.is_authenticated:
            await self.close(code=protocol.CLOSE_FORBIDDEN)
            return
        for subscription, ok in zip(subscriptions, allowed, strict=True):
            if not ok:
                await self.end_subscription(subscription.stream.name, reason=protocol.REASON_REVOKED)

    # --- helpers -----------------------------------------------------------------

    async def catch_up(self, subscription: Subscription, *, through: int, via: str) -> bool:
        """Send the logged events after ``last_seq`` up to ``through``; ``False`` if the subscription ended."""
        result = await database_sync_to_async(subscription_catch_up)(
            scope=self.scope, stream=subscription.stream, after=subscription.last_seq, through=through
        )
        self.user = result.user
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
        return recheck == "*" or (isinstance(recheck, list) and self.user.pk in recheck)

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
