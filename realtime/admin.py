"""Admin for streams and the notification log: read-only, because the log is append-only by design.

Deleting a stream row would restart its seqs at 1, and its live subscribers
(who drop seqs they already have) would silently stop receiving events; use
``manage.py reset_stream`` or ``prune_notifications`` instead. Inbox read
state is the one thing an admin may change.
"""

from django.contrib import admin

from realtime.models import Notification, Stream


class ReadOnlyLogAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Stream)
class StreamAdmin(ReadOnlyLogAdmin):
    list_display = ["name", "epoch", "seq", "pruned_through", "created_at"]
    search_fields = ["name"]
    readonly_fields = ["name", "object_type", "object_id", "epoch", "seq", "pruned_through", "created_at"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyLogAdmin):
    list_display = ["stream", "seq", "event", "title", "push", "read_at", "created_at"]
    list_filter = ["event", "push"]
    search_fields = ["stream__name", "title"]
    list_select_related = ["stream"]
    readonly_fields = [f.name for f in Notification._meta.fields if f.name != "read_at"]
