"""REST endpoints of the realtime app: the notification log, inbox read state, WebSocket tickets."""

from __future__ import annotations

from django.utils.http import urlencode
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from realtime import metrics
from realtime.conf import realtime_settings
from realtime.frames import event_frame, notification_payload
from realtime.inbox import inbox_mark_all_read, inbox_mark_read, inbox_unread_count
from realtime.log import replay_floor, stream_head, stream_read
from realtime.models import Notification
from realtime.schema import OpenApiResponse, extend_schema
from realtime.serializers import LogQuerySerializer
from realtime.streams import inbox_stream
from realtime.tickets import ticket_issue


class EventFrameSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="Redux action type, e.g. UPDATE_FOO.")
    payload = serializers.JSONField()
    meta = serializers.JSONField(help_text="stream, epoch, seq, event, object_type, id, at")


class LogPageSerializer(serializers.Serializer):
    stream = serializers.CharField()
    epoch = serializers.CharField(allow_null=True)
    seq = serializers.IntegerField(help_text="The stream's current (head) seq.")
    recovered = serializers.BooleanField()
    results = EventFrameSerializer(many=True)
    next = serializers.CharField(allow_null=True, help_text="URL of the next page, or null when caught up.")
    unread = serializers.IntegerField(
        required=False, help_text="Your inbox only: how many of its entries up to `seq` are unread."
    )


class GoneSerializer(serializers.Serializer):
    recovered = serializers.BooleanField()
    stream = serializers.CharField()
    epoch = serializers.CharField(allow_null=True)
    seq = serializers.IntegerField()
    reason = serializers.CharField()
    detail = serializers.CharField()


class NotificationLogView(APIView):
    """A stream's stored events, oldest first, as the same frames the WebSocket sends.

    With ``since``: the events after it, one page at a time (follow ``next``);
    410 with ``recovered: false`` when the history no longer reaches back that
    far or ``epoch`` is not the stream's. Without ``since``: the latest page.
    Without ``stream``: your inbox. Readable exactly when you may subscribe:
    the view has no permission class of its own, the stream's (the object's
    REST detail view, or inbox ownership) decides.
    """

    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[LogQuerySerializer],
        responses={200: LogPageSerializer, 410: OpenApiResponse(GoneSerializer, description="History lost.")},
    )
    def get(self, request: Request) -> Response:
        query = LogQuerySerializer(data=request.query_params, context={"request": request})
        query.is_valid(raise_exception=True)
        params = query.validated_data
        stream = params["stream"]
        limit = params.get("limit", realtime_settings.REST_PAGE_SIZE)
        since = params.get("since")
        if since is None:
            head = stream_head(stream)
            since = max(head.seq - limit, replay_floor(head)) if head else 0
            epoch = head.epoch if head else None
        else:
            epoch = params.get("epoch")
        history = stream_read(stream=stream, since=since, epoch=epoch, limit=limit, allow_partial=True)
        if not history.recovered:
            return Response(
                {
                    "recovered": False,
                    "stream": stream.name,
                    "epoch": history.epoch,
                    "seq": history.seq,
                    "reason": history.reason,
                    "detail": "The history no longer reaches back that far: reload the object.",
                },
                status=status.HTTP_410_GONE,
            )
        results = [event_frame(n) for n in history.notifications]
        metrics.replay(via="rest", events=len(results))
        last = history.notifications[-1].seq if history.notifications else since
        next_url = None
        if last < history.seq:
            query_string = urlencode({"stream": stream.name, "since": last, "epoch": history.epoch, "limit": limit})
            next_url = request.build_absolute_uri(f"{request.path}?{query_string}")
        page = {
            "stream": stream.name,
            "epoch": history.epoch,
            "seq": history.seq,
            "recovered": True,
            "results": results,
            "next": next_url,
        }
        if request.user.is_authenticated and stream.name == inbox_stream(request.user.pk).name:
            # Counted up to the page's seq, so a client adding the unread entries replayed after it counts each once.
            page["unread"] = inbox_unread_count(user=request.user, through=history.seq)
        return Response(page)


class ReadStateSerializer(serializers.Serializer):
    read = serializers.BooleanField()


class InboxEntrySerializer(serializers.Serializer):
    """An inbox notification, as in the payload of ``CREATE_NOTIFICATION`` (with its current read state)."""

    id = serializers.CharField()
    event = serializers.CharField()
    title = serializers.CharField()
    body = serializers.CharField()
    icon = serializers.CharField()
    client_action = serializers.CharField()
    object_type = serializers.CharField()
    object_id = serializers.CharField(allow_null=True)
    data = serializers.JSONField()
    read = serializers.BooleanField()
    created_at = serializers.CharField()


class NotificationReadView(generics.GenericAPIView):
    """Mark one of your inbox notifications read (``{"read": true}``) or unread."""

    serializer_class = ReadStateSerializer
    queryset = Notification.objects.none()

    @extend_schema(responses={200: InboxEntrySerializer})
    def patch(self, request: Request, pk: int) -> Response:
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        notification = inbox_mark_read(user=request.user, notification_id=pk, read=body.validated_data["read"])
        if notification is None:
            raise NotFound()
        return Response(notification_payload(notification))


class UnreadCountSerializer(serializers.Serializer):
    unread = serializers.IntegerField()


class UnreadCountView(APIView):
    """How many of your inbox notifications are unread."""

    @extend_schema(responses=UnreadCountSerializer)
    def get(self, request: Request) -> Response:
        return Response({"unread": inbox_unread_count(user=request.user)})


class MarkAllReadView(APIView):
    """Mark every inbox notification read."""

    @extend_schema(request=None, responses=UnreadCountSerializer)
    def post(self, request: Request) -> Response:
        inbox_mark_all_read(user=request.user)
        return Response({"unread": 0})


class TicketSerializer(serializers.Serializer):
    ticket = serializers.CharField()
    expires_in = serializers.IntegerField(help_text="Seconds until the ticket expires.")


class TicketView(APIView):
    """A one-time, short-lived ticket for ``/ws/notifications/?ticket=...``."""

    @extend_schema(request=None, responses={201: TicketSerializer})
    def post(self, request: Request) -> Response:
        ticket = ticket_issue(user=request.user)
        return Response({"ticket": ticket, "expires_in": realtime_settings.TICKET_TTL}, status=status.HTTP_201_CREATED)
