"""``SubscriptionConsumer``: one WebSocket at ``/ws/notifications/``, many subscriptions.

Thin by design: decode the frame, validate it with a DRF serializer, delegate
to ``realtime.subscriptions`` / ``realtime.lists`` (database) and
``realtime.session`` (where each subscription stands), reply. The ordering
rules that make it lossless:

* subscribe joins the streams' groups *before* reading the log, then sends
  the replay, then ``subscribed``; live events that arrived meanwhile wait in
  the channel layer and are dropped if their seq was already sent. One
  subscribe message may carry many entries (``streams``): access is checked
  with one query per object type, and the logs are read in one query for the
  heads and one for the rows, shared with the other sockets of the process
  that subscribe at the same time (``realtime.opening``);
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
  database query per delivered event, except such a permission check (and
  for live lists, one membership query per event per distinct user and list
  in the process).

The socket authenticates once, at the handshake; its user and credential
are checked again whenever a recheck says they may have been revoked.

And the rules that keep one socket from hurting the process: every frame is
decoded by ``realtime.decoding`` (a bad one gets one ``invalid`` error);
messages are rate-limited per socket and per user, replays against a
per-socket budget; outgoing frames wait for a client that does not read
(``realtime.transport``), which is closed once it has not read for
``SEND_TIMEOUT``; and whatever ends the socket (a close, a crash, a
cancellation) releases its groups, watcher entries and counters. A server
shutting down tells its clients when to come back (``reconnect``, then close
4503).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from channels.utils import await_many_dispatch
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse
from django.utils.http import urlencode
from rest_framework import exceptions, serializers

from realtime import metrics, protocol
from realtime.auth import scope_credentials
from realtime.conf import realtime_settings
from realtime.db import run_db
from realtime.decoding import FrameRefused, FrameTooBig, decode_message
from realtime.exceptions import RateLimited, TooManySubscriptions, error_frame
from realtime.frames import event_text, events_frames
from realtime.layers import resilient_receive
from realtime.lists import (
    ListTarget,
    get_memberships,
    leave_frame,
    leave_frame_from_event,
    list_frame_text,
    list_member,
    list_members,
)
from realtime.opening import targets_open
from realtime.quotas import get_user_quotas
from realtime.ratelimit import TokenBucket
from realtime.registry import registry
from realtime.requests import socket_request
from realtime.serializers import MessageSerializer, SubscribeSerializer, TargetSerializer, request_id_of
from realtime.session import DUPLICATE, GAP, ListSubscription, Subscription, SubscriptionSet
from realtime.shutdown import consumer_started, consumer_stopped
from realtime.streams import StreamRef, group_name, type_group, user_group
from realtime.subscriptions import (
    Opened,
    Target,
    subscription_catch_up,
    subscriptions_check,
)
from realtime.transport import ClientGone, ClientTooSlow, SendBuffer, send_buffer
from realtime.watcher import get_watcher, user_access_flags

logger = logging.getLogger(__name__)


class SubscriptionConsumer(AsyncJsonWebsocketConsumer):
    subscribe_serializer_class = SubscribeSerializer
    target_serializer_class = TargetSerializer

    # --- extension points ----------------------------------------------------

    def get_subscribe_serializer(self) -> serializers.Serializer:
        """Validates subscribe entries' shape and resolves their streams or lists (no database).

        One instance serves every entry of the socket (``run_validation(entry)``): building a
        serializer deep-copies its fields, which cost more than the validation itself.
        """
        return self.subscribe_serializer_class(context={"user": self.user})

    def get_target_serializer(self, message: dict[str, Any]) -> serializers.Serializer:
        """Resolves which stream or list a message names, without the database."""
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
        # connected is retried instead of crashing the socket; the socket's state is released however
        # it ends (disconnect, crash or cancellation); a server shutting down says when to come back.
        self.scope = scope
        self.base_send = send
        self.user = scope.get("user") or AnonymousUser()
        self.credential = scope.get("realtime_credential")
        self.subscriptions = SubscriptionSet()
        self.entry_serializer: serializers.Serializer | None = None
        self.batched = False
        self.accepted = self.closing = False
        self._released = False
        self._counted = self._user_counted = False
        self.outgoing = SendBuffer(send, timeout=0)
        self.limiter = self.get_rate_limiter()
        self.replay_budget = self.get_replay_budget()
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
        except asyncio.CancelledError:
            await self.goodbye()
            raise
        finally:
            await self.release()

    @staticmethod
    async def refuse(receive: Any, send: Any, *, code: int) -> None:
        """Answer the handshake, then close at once with ``code`` (the client reads it as a reason)."""
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": code})

    async def goodbye(self) -> None:
        """The server is stopping this socket (a shutdown): tell the client when to come back, then close."""
        if not self.accepted or self.closing:
            return
        frame = protocol.reply(
            protocol.RECONNECT,
            None,
            after_ms=realtime_settings.RECONNECT_AFTER_MS,
            spread_ms=realtime_settings.RECONNECT_SPREAD_MS,
        )
        try:
            await self.base_send({"type": "websocket.send", "text": protocol.encode(frame)})
            self.closing = True
            await self.base_send({"type": "websocket.close", "code": protocol.CLOSE_TRY_AGAIN})
        except Exception as exc:
            logger.debug("Could not say goodbye to a socket (%s).", exc)

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels >= 4.2 awaits aclose_old_connections() (a hop to the database thread)
        # before every handler. Every database access here already goes through
        # realtime.db.run_db, which manages connections itself, so skip that hop:
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
        self.batched = protocol.SUBPROTOCOL_EVENTS in self.scope.get("subprotocols", ())
        await self.accept(subprotocol=protocol.SUBPROTOCOL_EVENTS if self.batched else None)
        self.accepted = True
        consumer_started(self)
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
        consumer_stopped(self)
        self.outgoing.close()
        dropped = self.subscriptions.clear()
        groups = {self.group_of(subscription) for subscription in dropped}
        watcher = get_watcher(self.channel_layer)
        for subscription in dropped:
            watcher.unwatch(subscription.name, self.channel_name)
        watcher.unwatch_lists(self.channel_name)
        if self._counted:
            metrics.connection_closed(subscriptions=len(dropped))
        if self._user_counted:
            get_user_quotas().close(self.user.pk, self.channel_name)
            watcher.unwatch_user(self.user.pk, self.channel_name)
            groups.add(user_group(self.user.pk))
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

    async def send_events(self, texts: list[str]) -> None:
        """Replayed event frames: packed into ``events`` frames for clients that take them, else one by one."""
        for text in events_frames(texts) if self.batched else texts:
            await self.send(text_data=text)

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
            entries = message.get("streams")
            cost = 1 + len(entries) // 10 if isinstance(entries, list) else 1
            if not self.allow_message(cost):
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

    def allow_message(self, cost: int = 1) -> bool:
        """The socket's own rate, then its user's (shared by all of their sockets in this process)."""
        if not self.limiter.allow(cost):
            return False
        return not self.user.is_authenticated or get_user_quotas().allow_message(self.user.pk)

    async def handle_ping(self, message: dict[str, Any], request_id: str | int | None) -> None:
        await self.send_json(protocol.reply(protocol.PONG, request_id))

    async def handle_subscribe(self, message: dict[str, Any], request_id: str | int | None) -> None:
        batch = "streams" in message
        entries = self.subscribe_entries(message)
        targets: list[Target | ListTarget | exceptions.APIException] = []
        for entry in entries:
            try:
                targets.append(self.parse_entry(entry))
            except exceptions.APIException as exc:
                if not batch:
                    raise
                targets.append(exc)
        self.refuse_beyond_capacity(targets, batch=batch)
        wanted = [target for target in targets if not isinstance(target, exceptions.APIException)]
        if any(getattr(t, "since", None) is not None for t in wanted) and not self.replay_budget.available():
            raise RateLimited("Too many replayed events; subscribe with `since` again later.")
        # Join first, then check and read: a change committed after the join is queued for us (with
        # its recheck); one committed before it is seen by the check and is in the read. Anything
        # both queued and read is dropped by seq below.
        groups = {self.group_of(target) for target in wanted}
        await asyncio.gather(*(self.channel_layer.group_add(group, self.channel_name) for group in groups))
        opened = await targets_open(
            scope=self.scope,
            user=self.user,
            auth=self.credential,
            targets=wanted,
            limit=realtime_settings.REPLAY_LIMIT,
            list_limit=realtime_settings.LIST_MAX_MEMBERS,
        )
        answers = iter(opened)
        results = [target if isinstance(target, exceptions.APIException) else next(answers) for target in targets]
        replays: list[str] = []
        replies: list[dict[str, Any]] = []
        ended: list[str] = []
        for entry, result in zip(entries, results, strict=True):
            if isinstance(result, exceptions.APIException):
                # No subscription stays behind a failed subscribe, not even an earlier one to the same stream.
                name = self.name_of(entry)
                if name is not None:
                    await self.drop_subscription(name)
                if not batch:
                    raise result
                error = error_frame(result, request_id=None)
                del error["type"]
                replies.append({"error": error})
                continue
            reply, texts, final = self.subscribed(result)
            replays += texts
            replies.append(reply)
            if final:
                ended.append(reply["stream"])
        self.replay_budget.take(len(replays))
        await self.send_events(replays)
        if batch:
            await self.send_json(protocol.reply(protocol.SUBSCRIBED, request_id, results=replies))
        else:
            await self.send_json(protocol.reply(protocol.SUBSCRIBED, request_id, **replies[0]))
        for name in ended:
            await self.end_subscription(name, reason=protocol.REASON_DELETED)

    def subscribe_entries(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        if "streams" not in message:
            return [message]
        entries = message["streams"]
        if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
            raise exceptions.ValidationError({"streams": ["Must be a list of subscribe entries (objects)."]})
        if not entries or len(entries) > realtime_settings.MAX_SUBSCRIPTIONS:
            raise exceptions.ValidationError(
                {"streams": [f"Must hold 1 to {realtime_settings.MAX_SUBSCRIPTIONS} entries."]}
            )
        return entries

    def parse_entry(self, entry: dict[str, Any]) -> Target | ListTarget:
        if self.entry_serializer is None:
            self.entry_serializer = self.get_subscribe_serializer()
        data = self.entry_serializer.run_validation(entry)
        if isinstance(data["stream"], ListTarget):
            return data["stream"]
        return Target(data["stream"], data.get("since"), data.get("epoch"))

    def refuse_beyond_capacity(self, targets: list[Any], *, batch: bool) -> None:
        """Entries that would take the socket over ``MAX_SUBSCRIPTIONS`` become ``too_many_subscriptions``."""
        held = set(self.subscriptions.names())
        for index, target in enumerate(targets):
            if isinstance(target, exceptions.APIException):
                continue
            name = self.group_name_key(target)
            if name not in held and len(held) >= realtime_settings.MAX_SUBSCRIPTIONS:
                if not batch:
                    raise TooManySubscriptions()
                targets[index] = TooManySubscriptions()
                continue
            held.add(name)

    def subscribed(self, result: Any) -> tuple[dict[str, Any], list[str], bool]:
        """Register an opened subscription; its reply, the replay's frame texts, and whether it already ended."""
        watcher = get_watcher(self.channel_layer)
        if isinstance(result, Opened):
            target, history = result.target, result.history
            stream = target.stream
            texts = [event_text(notification) for notification in history.notifications]
            seq = max([history.seq, *(n.seq for n in history.notifications)])
            self.subscriptions.add(
                Subscription(stream=stream, last_seq=seq, checked_visibility=history.visibility_seq),
                replayed=len(texts),
            )
            watcher.watch(stream.name, self.channel_name)
            reply: dict[str, Any] = {
                "stream": stream.name,
                "epoch": history.epoch,
                "seq": seq,
                "recovered": history.recovered,
                "replayed": len(texts),
            }
            if history.reason is not None:
                reply["reason"] = history.reason
            if history.reason == "limit":
                query = urlencode({"stream": stream.name, "since": target.since, "epoch": history.epoch})
                reply["history"] = f"{reverse('realtime:notification-log')}?{query}"
            return reply, texts, bool(history.notifications and history.notifications[-1].final)
        # A live list.
        target = result.target
        subscription = ListSubscription(target.key, target.object_type, target.query(), dict(result.members))
        self.subscriptions.add(subscription, replayed=len(result.frames))
        watcher.watch_lists(self.channel_name)
        texts = [protocol.encode(frame) for frame in result.frames]
        reply = {"stream": target.key, "list": True, "members": len(result.members), "replayed": len(texts)}
        return reply, texts, False

    async def handle_unsubscribe(self, message: dict[str, Any], request_id: str | int | None) -> None:
        target = self.target(message)
        await self.end_subscription(target.name, request_id=request_id)

    def target(self, message: dict[str, Any]) -> StreamRef | ListTarget:
        serializer = self.get_target_serializer(message)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data["stream"]

    def name_of(self, entry: dict[str, Any]) -> str | None:
        """The stream (or list) name an entry names, if it names one at all."""
        try:
            return self.target(entry).name
        except exceptions.APIException:
            return None

    @staticmethod
    def group_name_key(target: Target | ListTarget) -> str:
        return target.name if isinstance(target, ListTarget) else target.stream.name

    @staticmethod
    def group_of(subscription: Any) -> str:
        """The channel-layer group that carries a subscription's (or a target's) events."""
        if isinstance(subscription, ListTarget | ListSubscription):
            return type_group(subscription.object_type)
        stream = subscription.stream
        return group_name(stream.name)

    # --- channel layer messages ------------------------------------------------

    async def realtime_event(self, message: dict[str, Any]) -> None:
        subscription = self.subscriptions.get(message["stream"])
        if not isinstance(subscription, Subscription) or self.closing:
            return
        seq = message["seq"]
        if self.concerns_me(message.get("recheck")):
            # Before the duplicate check: an event replayed at subscribe time still revokes.
            checked = await run_db(
                subscriptions_check,
                scope=self.scope,
                user=self.user,
                auth=self.credential,
                streams=[subscription.stream],
            )
            if not checked.allowed[0]:
                await self.end_subscription(subscription.name, reason=protocol.REASON_REVOKED)
                return
            visibility_seq = checked.visibility[0]
            subscription.checked(visibility_seq)
            if visibility_seq > seq:
                # Access changed again after this event: the user may not have been allowed to see its
                # state. Skip to the change; the client sees the gap and reloads over REST.
                subscription.skip_through(visibility_seq - 1)
        place = subscription.place(seq)
        if place == DUPLICATE:
            return
        if message.get("final"):
            # The object is gone. Its last event carries only the id, so it is sent without a
            # permission check (which a deleted object fails), even after a gap.
            await self.send(text_data=message["text"])
            subscription.sent(seq)
            await self.end_subscription(subscription.name, reason=protocol.REASON_DELETED)
            return
        if place == GAP and not await self.catch_up(subscription, through=seq - 1, via="gap"):
            return
        if subscription.place(seq) == DUPLICATE:
            return  # the catch-up skipped past it (a visibility change after it)
        await self.send(text_data=message["text"])
        metrics.delivered()
        subscription.sent(seq)
        if message.get("visibility"):
            # Delivered in order, so the socket's check holds up to this change (which did not concern it).
            subscription.checked(seq)

    async def realtime_listed(self, message: dict[str, Any]) -> None:
        """A tracked change of an object of a type this socket lists: enter, update or leave each list."""
        lists = self.subscriptions.lists(message["object_type"])
        live = registry.get(message["object_type"])
        if not lists or live is None or self.closing:
            return
        pk, seq = live.pk_of(message["object_id"]), message["seq"]
        for subscription in lists:
            have = subscription.members.get(pk)
            if have is not None and seq <= have:
                continue
            if message.get("final"):
                if have is not None:
                    del subscription.members[pk]
                    text = list_frame_text(message["text"], key=subscription.key, membership=protocol.MEMBERSHIP_LEAVE)
                    await self.send(text_data=text)
                continue
            member, visibility_seq = await self.list_membership(subscription, pk, message["stream"], seq)
            if member and visibility_seq <= seq:
                membership = protocol.MEMBERSHIP_UPDATE if have is not None else protocol.MEMBERSHIP_ENTER
                subscription.members[pk] = seq
                await self.send(text_data=list_frame_text(message["text"], key=subscription.key, membership=membership))
                metrics.delivered()
            elif not member and have is not None:
                del subscription.members[pk]
                await self.send_json(leave_frame_from_event(message["text"], key=subscription.key))
            # A member whose visibility changed after this event waits for that (later) event.

    async def list_membership(self, subscription: ListSubscription, pk: Any, stream: str, seq: int) -> tuple[bool, int]:
        """Whether ``pk`` is in the list now: one query per event per process for each distinct (user, list)."""
        target = ListTarget(subscription.object_type, tuple((k, tuple(v)) for k, v in subscription.params.items()))
        scope, user, auth = self.scope, self.user, self.credential

        async def compute() -> tuple[bool, int]:
            request = socket_request(scope=scope, user=user, auth=auth)
            return await run_db(list_member, request=request, target=target, pk=pk)

        return await get_memberships().member((stream, seq, str(self.user.pk), subscription.key), compute)

    async def realtime_list_sync(self, message: dict[str, Any]) -> None:
        """The watcher's periodic tick: recompute each list's members, send what live messages missed."""
        if self.closing:
            return
        for subscription in self.subscriptions.lists():
            current = await get_memberships().member(
                ("sync", message["tick"], str(self.user.pk), subscription.key),
                lambda subscription=subscription: self.list_current(subscription),
            )
            if self.subscriptions.get(subscription.key) is not subscription:
                continue
            live = registry.get(subscription.object_type)
            texts = []
            for pk, (seq, frame) in current.items():
                have = subscription.members.get(pk)
                if have is None or seq > have:
                    membership = protocol.MEMBERSHIP_UPDATE if have is not None else protocol.MEMBERSHIP_ENTER
                    meta = {**frame["meta"], "list": subscription.key, "membership": membership}
                    texts.append(protocol.encode({**frame, "meta": meta}))
                    subscription.members[pk] = seq
            for pk in [pk for pk in subscription.members if pk not in current]:
                seq = subscription.members.pop(pk)
                texts.append(protocol.encode(leave_frame(live, pk, seq=seq, key=subscription.key)))
            await self.send_events(texts)

    async def list_current(self, subscription: ListSubscription) -> dict[Any, tuple[int, dict[str, Any]]]:
        """The list's members now, with their seqs and current-state frames (one query)."""
        target = ListTarget(subscription.object_type, tuple((k, tuple(v)) for k, v in subscription.params.items()))
        request = socket_request(scope=self.scope, user=self.user, auth=self.credential)
        return await run_db(list_members, request=request, target=target, limit=realtime_settings.LIST_MAX_MEMBERS)

    async def realtime_sync(self, message: dict[str, Any]) -> None:
        """The stream's head, from the ``StreamWatcher``: fill from the log if a live event was lost."""
        subscription = self.subscriptions.get(message["stream"])
        if isinstance(subscription, Subscription) and not self.closing and message["seq"] > subscription.last_seq:
            await self.catch_up(subscription, through=message["seq"], via="sync")

    async def realtime_recheck(self, message: dict[str, Any]) -> None:
        """The user's access changed (flags, groups, credential, deletion): re-check the credential and every stream."""
        if self.closing:
            return
        self.user, self.credential = await run_db(scope_credentials, scope=self.scope)
        if not self.user.is_authenticated:
            await self.close(code=protocol.CLOSE_FORBIDDEN)
            return
        subscriptions = self.subscriptions.streams()
        checked = await run_db(
            subscriptions_check,
            scope=self.scope,
            user=self.user,
            auth=self.credential,
            streams=[subscription.stream for subscription in subscriptions],
        )
        for subscription, ok in zip(subscriptions, checked.allowed, strict=True):
            if not ok:
                await self.end_subscription(subscription.name, reason=protocol.REASON_REVOKED)
        if self.subscriptions.lists():
            await self.realtime_list_sync({"tick": ("recheck", id(message))})

    # --- helpers -----------------------------------------------------------------

    async def catch_up(self, subscription: Subscription, *, through: int, via: str) -> bool:
        """Send the logged events after ``last_seq`` up to ``through``; ``False`` if the subscription ended."""
        result = await run_db(
            subscription_catch_up,
            scope=self.scope,
            user=self.user,
            auth=self.credential,
            stream=subscription.stream,
            after=subscription.last_seq,
            through=through,
            checked_visibility=subscription.checked_visibility,
        )
        if self.subscriptions.get(subscription.name) is not subscription:
            return False  # ended while the log was read
        subscription.skip_through(result.skip_through)
        subscription.checked(result.visibility_seq)
        await self.send_events([event_text(notification) for notification in result.notifications])
        for notification in result.notifications:
            subscription.sent(notification.seq)
        if result.notifications:
            metrics.replay(via=via, events=len(result.notifications))
        if result.end is not None:
            await self.end_subscription(subscription.name, reason=result.end)
            return False
        return True

    def concerns_me(self, recheck: Any) -> bool:
        return recheck == "*" or (isinstance(recheck, list) and str(self.user.pk) in recheck)

    async def drop_subscription(self, name: str) -> None:
        """Forget a subscription (if any) and leave its group, without telling the client."""
        self.subscriptions.drop(name)
        watcher = get_watcher(self.channel_layer)
        if "?" in name:  # a live list: leave the type's group once no list of the type is left
            object_type = name.split("?", 1)[0]
            if not self.subscriptions.lists(object_type):
                await self.channel_layer.group_discard(type_group(object_type), self.channel_name)
            if not self.subscriptions.lists():
                watcher.unwatch_lists(self.channel_name)
            return
        await self.channel_layer.group_discard(group_name(name), self.channel_name)
        watcher.unwatch(name, self.channel_name)

    async def end_subscription(
        self, name: str, *, request_id: str | int | None = None, reason: str | None = None
    ) -> None:
        await self.drop_subscription(name)
        fields: dict[str, Any] = {"stream": name}
        if reason is not None:
            fields["reason"] = reason
        await self.send_json(protocol.reply(protocol.UNSUBSCRIBED, request_id, **fields))
