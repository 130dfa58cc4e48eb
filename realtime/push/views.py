"""REST endpoints of push delivery: your devices, and the VAPID key browsers subscribe with."""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from realtime.push.devices import device_register
from realtime.push.models import Device
from realtime.push.serializers import DeviceCreatedSerializer, DeviceSerializer, VapidPublicKeySerializer
from realtime.push.vapid import vapid_public_key
from realtime.schema import extend_schema


class DeviceViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Your push targets. POST registers one (201, or 200 when it was already registered, reactivating it)."""

    serializer_class = DeviceSerializer
    lookup_value_converter = "hashid"

    def get_queryset(self) -> QuerySet[Device]:
        return Device.objects.filter(user=self.request.user).order_by("-created_at", "-pk")

    @extend_schema(responses={201: DeviceCreatedSerializer, 200: DeviceCreatedSerializer})
    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        device, created = device_register(user=request.user, **serializer.validated_data)
        body = DeviceCreatedSerializer(device, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class VapidPublicKeyView(APIView):
    """The VAPID public key to pass as ``applicationServerKey`` to ``PushManager.subscribe()``."""

    @extend_schema(responses=VapidPublicKeySerializer)
    def get(self, request: Request) -> Response:
        return Response({"public_key": vapid_public_key() or None})
