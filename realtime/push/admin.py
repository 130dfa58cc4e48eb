"""Admin for push delivery: devices, deliveries (filter by status) and dead letters (requeue)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from realtime.push.models import DeadLetter, Delivery, Device
from realtime.push.queue import deliveries_requeue, device_deactivate


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ["__str__", "user", "kind", "active", "created_at", "deactivated_reason"]
    list_filter = ["kind", "active"]
    search_fields = ["user__username", "name", "address"]
    raw_id_fields = ["user"]
    readonly_fields = ["secret", "created_at", "deactivated_at"]
    actions = ["deactivate"]

    @admin.action(description="Deactivate (drop what is queued for them)")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Device]) -> None:
        for device in queryset.filter(active=True):
            device_deactivate(device_id=device.pk, reason=f"deactivated by {request.user} in the admin")


class DeliveryAdminBase(admin.ModelAdmin):
    list_display = [
        "pk",
        "notification",
        "device",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status",
        "updated_at",
    ]
    list_filter = ["status", "device__kind"]
    search_fields = ["device__user__username", "device__address", "notification__title", "last_error"]
    list_select_related = ["notification__stream", "device"]
    readonly_fields = [f.name for f in Delivery._meta.fields]
    actions = ["requeue"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Requeue dead letters (fresh attempt budget)")
    def requeue(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        count = deliveries_requeue(deliveries=queryset)
        self.message_user(request, f"Requeued {count} dead letter(s).", messages.SUCCESS)


@admin.register(Delivery)
class DeliveryAdmin(DeliveryAdminBase):
    pass


@admin.register(DeadLetter)
class DeadLetterAdmin(DeliveryAdminBase):
    list_display = ["pk", "notification", "device", "attempts", "last_status", "last_error", "updated_at"]
    list_filter = ["device__kind"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Delivery]:
        return super().get_queryset(request).filter(status=Delivery.Status.DEAD)
