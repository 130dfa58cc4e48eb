"""DRF serializers for what clients send: WebSocket messages and REST log queries.

Validation that needs the database (the REST log's permission check) runs
inside ``is_valid()``; WebSocket messages are validated without it, and
``realtime.subscriptions`` checks access after the consumer joined the
stream's group. A bad shape is a ``ValidationError`` (code
``invalid``); an unknown or invisible object is ``NotFound`` and an anonymous
refusal ``NotAuthenticated``, raised as such.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import NotAuthenticated, NotFound

from realtime import protocol
from realtime.access import stream_authorize
from realtime.conf import realtime_settings
from realtime.lists import ListTarget, list_params
from realtime.registry import registry
from realtime.streams import StreamRef, inbox_stream


def request_id_of(message: object) -> str | int | None:
    """The message's ``request_id`` if it is one we can echo (a short string or an integer)."""
    if not isinstance(message, dict):
        return None
    value = message.get("request_id")
    if isinstance(value, str) and len(value) <= 64:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


class MessageSerializer(serializers.Serializer):
    """The envelope every client message shares."""

    action = serializers.ChoiceField(choices=protocol.ACTIONS)
    request_id = serializers.JSONField(required=False)

    def validate_request_id(self, value: Any) -> Any:
        if request_id_of({"request_id": value}) is None:
            raise serializers.ValidationError("Must be a string of at most 64 characters or an integer.")
        return value


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers instead of turning them into strings."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class TargetSerializer(serializers.Serializer):
    """Which stream a message is about: ``object_type`` + ``id``, ``object_type: "inbox"``, or a live ``list``."""

    object_type = serializers.ChoiceField(choices=())
    id = StrictCharField(required=False, max_length=64, trim_whitespace=False)
    list = serializers.JSONField(required=False, help_text="A live list: the list endpoint's query parameters.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["object_type"].choices = [protocol.INBOX, *registry.object_types()]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "list" in attrs:
            attrs["stream"] = self.resolve_list(attrs)
        else:
            attrs["stream"] = self.resolve(attrs)
        return attrs

    def resolve_list(self, attrs: dict[str, Any]) -> ListTarget:
        if attrs["object_type"] == protocol.INBOX or "id" in attrs:
            raise serializers.ValidationError({"list": "A list names an object type and no id (and is no inbox)."})
        try:
            params = list_params(attrs["list"])
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"list": exc.detail}) from None
        return ListTarget(attrs["object_type"], params, tuple(sorted(attrs.get("have", {}).items())))

    def resolve(self, attrs: dict[str, Any]) -> StreamRef:
        user = self.context["user"]
        if attrs["object_type"] == protocol.INBOX:
            if "id" in attrs:
                raise serializers.ValidationError({"id": "Omit the id: the inbox is always your own."})
            if not user.is_authenticated:
                raise NotAuthenticated("Log in to subscribe to your inbox.")
            return inbox_stream(user.pk)
        live = registry.get(attrs["object_type"])
        if "id" not in attrs:
            if live.type_stream:
                return live.get_type_stream()  # every object of the type
            raise serializers.ValidationError({"id": "This field is required."})
        pk = live.parse_public_id(attrs["id"])
        if pk is None:
            raise NotFound()
        return live.get_stream(pk)


class SubscribeSerializer(TargetSerializer):
    """A subscribe entry's shape; whether the user may read the stream is checked by ``realtime.opening``."""

    since = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=2**63 - 1)
    epoch = StrictCharField(required=False, allow_null=True, max_length=32)
    have = serializers.DictField(
        child=serializers.IntegerField(min_value=0, max_value=2**63 - 1),
        required=False,
        allow_empty=True,
        help_text="A live list: the ids the client has, with the seq it has of each.",
    )

    def validate_have(self, value: dict[str, int]) -> dict[str, int]:
        if len(value) > realtime_settings.LIST_MAX_MEMBERS:
            raise serializers.ValidationError(f"At most {realtime_settings.LIST_MAX_MEMBERS} entries.")
        if any(len(key) > 64 for key in value):
            raise serializers.ValidationError("Ids are at most 64 characters.")
        return value


class LogQuerySerializer(serializers.Serializer):
    """Query string of ``GET /api/notifications/``."""

    stream = serializers.CharField(required=False, max_length=150, help_text="Stream name; default: your inbox.")
    since = serializers.IntegerField(required=False, min_value=0, help_text="Last seq you have; default 0.")
    epoch = serializers.CharField(required=False, max_length=32, help_text="Epoch your `since` belongs to.")
    limit = serializers.IntegerField(required=False, min_value=1, help_text="Page size.")

    def validate_limit(self, value: int) -> int:
        return min(value, realtime_settings.REST_MAX_PAGE_SIZE)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        request = self.context["request"]
        if "stream" in attrs:
            stream = registry.parse_stream(attrs["stream"])
            if stream is None:
                raise NotFound()
        elif request.user.is_authenticated:
            stream = inbox_stream(request.user.pk)
        else:
            raise NotAuthenticated("Log in to read your inbox, or name a stream.")
        stream_authorize(request=request, stream=stream)
        attrs["stream"] = stream
        return attrs
