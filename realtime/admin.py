"""Admin for streams and the notification log (read-mostly: the log is append-only by design)."""

from django.contrib import admin

from realtime.models import Notification, Stream


@admin.register(Stream)
class StreamAdmin(admin.ModelAdmin):
    list_display = ["name", "epoch", "seq", "pruned_through", "created_at"]
    search_fields = ["name"]
    readonly_fields = ["name", "object_type", "object_id", "epoch", "seq", "pruned_through", "created_at"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["stream", "seq", "event", "title", "push", "read_at", "created_at"]
    list_filter = ["event", "push"]
    search_fields = ["stream__name", "title"]
    list_select_related = ["stream"]
    readonly_fields = [f.name for f in Notification._meta.fields if f.name != "read_at"]
