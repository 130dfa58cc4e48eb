"""DRF serializer fields that speak hashids on the wire."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from realtime.ids import decode_id, encode_id
from realtime.schema import OpenApiTypes, extend_schema_field


@extend_schema_field(OpenApiTypes.STR)
class HashidField(serializers.Field):
    """A read-only integer id (usually ``pk``) rendered as its hashid."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: int) -> str:
        return encode_id(value)


@extend_schema_field(OpenApiTypes.STR)
class HashidRelatedField(serializers.PrimaryKeyRelatedField):
    """A foreign key or many-to-many entry referenced by hashid."""

    default_error_messages = {
        "does_not_exist": "No object with id {pk_value!r}.",
        "incorrect_type": "Expected an id string, got {data_type}.",
    }

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("incorrect_type", data_type=type(data).__name__)
        pk = decode_id(data)
        if pk is None:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(pk)

    def to_representation(self, value: Any) -> str:
        return encode_id(value.pk)


class StreamPositionSerializer(serializers.Serializer):
    """The shape of ``StreamPositionField`` in the OpenAPI schema."""

    name = serializers.CharField(help_text="The stream, e.g. foo.<id>.")
    seq = serializers.IntegerField(help_text="The last event included in this representation.")
    epoch = serializers.CharField(allow_null=True, help_text="The stream's epoch (null before its first event).")


@extend_schema_field(StreamPositionSerializer)
class StreamPositionField(serializers.Field):
    """Read-only ``{"name", "seq", "epoch"}`` of the object's stream, as of the representation.

    A client that loads an object over REST subscribes with ``since=seq`` and
    ``epoch`` from here. The value comes from the ``realtime_seq`` /
    ``realtime_epoch`` attributes: annotations of ``LiveViewSetMixin`` (one
    statement with the object), set again by each event a write appends; or,
    for an instance that has neither, from the stream row. Event payloads (rendered with
    ``context["realtime"]``) leave it out: their ``meta`` carries the position.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs["source"] = "*"
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def get_attribute(self, instance: Any) -> dict[str, Any]:
        from realtime.models import Stream
        from realtime.registry import registry

        if self.context.get("realtime") or "request" not in self.context:
            raise serializers.SkipField()
        stream = registry.stream_for(instance)
        if hasattr(instance, "realtime_seq"):
            seq, epoch = instance.realtime_seq, instance.realtime_epoch
        else:
            seq, epoch = Stream.objects.filter(name=stream.name).values_list("seq", "epoch").first() or (0, None)
        return {"name": stream.name, "seq": seq or 0, "epoch": epoch}

    def to_representation(self, value: dict[str, Any]) -> dict[str, Any]:
        return value
