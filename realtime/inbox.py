"""A user's inbox: the user-facing notifications in their ``user.<id>`` stream, and read state."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.utils import timezone

from realtime.models import Notification
from realtime.streams import inbox_stream


def inbox_notifications(*, user: AbstractBaseUser) -> QuerySet[Notification]:
    return Notification.objects.filter(stream__name=inbox_stream(user.pk).name).exclude(title="")


def inbox_unread_count(*, user: AbstractBaseUser, through: int | None = None) -> int:
    """How many of ``user``'s inbox entries are unread (only those up to seq ``through``, if given)."""
    unread = inbox_notifications(user=user).filter(read_at__isnull=True)
    if through is not None:
        unread = unread.filter(seq__lte=through)
    return unread.count()


def inbox_mark_read(*, user: AbstractBaseUser, notification_id: int, read: bool = True) -> Notification | None:
    """Mark one of ``user``'s notifications read (or unread); ``None`` if it is not theirs."""
    notification = inbox_notifications(user=user).select_related("stream").filter(pk=notification_id).first()
    if notification is None:
        return None
    if read != (notification.read_at is not None):
        notification.read_at = timezone.now() if read else None
        notification.save(update_fields=["read_at"])
    return notification


def inbox_mark_all_read(*, user: AbstractBaseUser) -> int:
    """Mark every unread notification of ``user`` read; returns how many changed."""
    return inbox_notifications(user=user).filter(read_at__isnull=True).update(read_at=timezone.now())
