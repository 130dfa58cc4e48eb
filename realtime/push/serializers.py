"""DRF serializers of the push API: device registration and its representation.

A registration names its ``kind`` and the target in that kind's own shape:
``subscription`` (the browser's ``PushSubscription.toJSON()``) for Web Push,
``token`` for FCM and APNs, ``url`` for a webhook. Kinds the server has no
credentials for are refused, so nothing is queued that could never be sent.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied

from realtime.conf import realtime_settings
from realtime.push.backends import get_backend_class
from realtime.push.models import Device
from realtime.push.targets import target_url_refusal
from realtime.schema import extend_schema_field

APNS_TOKEN = re.compile(r"^[0-9a-fA-F]{64,200}$")
FCM_TOKEN = re.compile(r"^[\w\-:.]{20,2048}$")


def b64url_decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


class SubscriptionKeysSerializer(serializers.Serializer):
    p256dh = serializers.CharField(max_length=200)
    auth = serializers.CharField(max_length=100)

    def validate_p256dh(self, value: str) -> str:
        from cryptography.hazmat.primitives.asymmetric import ec

        try:
            ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(value))
        except (ValueError, binascii.Error):
            raise serializers.ValidationError("Not a base64url P-256 public key.") from None
        return value

    def validate_auth(self, value: str) -> str:
        try:
            secret = b64url_decode(value)
        except (ValueError, binascii.Error):
            secret = b""
        if len(secret) != 16:
            raise serializers.ValidationError("Not a base64url 16-byte auth secret.")
        return value


class SubscriptionSerializer(serializers.Serializer):
    """A browser's ``PushSubscription.toJSON()``; ``expirationTime`` is accepted and ignored."""

    endpoint = serializers.URLField(max_length=2048)
    keys = SubscriptionKeysSerializer()


def _check_target(value: str, *, field: str, hosts: list[str] | None = None) -> str:
    """A URL the worker will POST to for whoever registered it: see ``realtime.push.targets``."""
    if refusal := target_url_refusal(value, hosts=hosts):
        raise serializers.ValidationError({field: refusal})
    return value


def webpush_hosts() -> list[str]:
    return [host.strip().lower() for host in realtime_settings.PUSH_WEBPUSH_HOSTS.split(",") if host.strip()]


class DeviceSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    kind = serializers.ChoiceField(choices=Device.Kind.choices)
    subscription = SubscriptionSerializer(write_only=True, required=False, help_text="Web Push: the subscription.")
    token = serializers.CharField(write_only=True, required=False, max_length=2048, help_text="FCM or APNs token.")
    url = serializers.URLField(write_only=True, required=False, max_length=2048, help_text="Webhook: where to POST.")
    target = serializers.CharField(source="address", read_only=True, help_text="Endpoint, token or URL.")

    class Meta:
        model = Device
        fields = [
            "id",
            "kind",
            "name",
            "subscription",
            "token",
            "url",
            "target",
            "active",
            "deactivated_reason",
            "created_at",
        ]
        read_only_fields = ["active", "deactivated_reason", "created_at"]

    def validate_kind(self, value: str) -> str:
        backend = get_backend_class(value)()
        if not backend.is_configured():
            raise serializers.ValidationError(f"{Device.Kind(value).label} is not configured on this server.")
        if value == Device.Kind.WEBHOOK and not self.context["request"].user.has_perm("push.register_webhook"):
            raise PermissionDenied("Registering webhooks needs the push.register_webhook permission.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind = attrs["kind"]
        field = {Device.Kind.WEBPUSH: "subscription", Device.Kind.WEBHOOK: "url"}.get(kind, "token")
        if field not in attrs:
            raise serializers.ValidationError({field: f"This field is required for kind {kind!r}."})
        extra = [name for name in ("subscription", "token", "url") if name in attrs and name != field]
        if extra:
            raise serializers.ValidationError({name: f"Not used for kind {kind!r}." for name in extra})
        value = attrs.pop(field)
        if kind == Device.Kind.WEBPUSH:
            attrs["address"] = _check_target(value["endpoint"], field=field, hosts=webpush_hosts())
            attrs["p256dh"], attrs["auth"] = value["keys"]["p256dh"], value["keys"]["auth"]
        elif kind == Device.Kind.WEBHOOK:
            attrs["address"] = _check_target(value, field=field)
        elif kind == Device.Kind.APNS and not APNS_TOKEN.match(value):
            raise serializers.ValidationError({"token": "An APNs device token is 64 or more hex digits."})
        elif kind == Device.Kind.FCM and not FCM_TOKEN.match(value):
            raise serializers.ValidationError({"token": "Not an FCM registration token."})
        else:
            attrs["address"] = value
        return attrs


class DeviceCreatedSerializer(DeviceSerializer):
    """The registration response: a webhook's signing secret is shown here only."""

    secret = serializers.SerializerMethodField()

    class Meta(DeviceSerializer.Meta):
        fields = [*DeviceSerializer.Meta.fields, "secret"]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_secret(self, device: Device) -> str | None:
        return device.secret if device.kind == Device.Kind.WEBHOOK else None


class VapidPublicKeySerializer(serializers.Serializer):
    public_key = serializers.CharField(allow_null=True, help_text="base64url applicationServerKey; null: no Web Push.")
