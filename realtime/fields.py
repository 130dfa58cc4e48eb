"""DRF serializer fields that speak hashids on the wire."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from realtime.ids import decode_id, encode_id


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
