"""Stored state of the realtime app: streams, their notification log, and WebSocket tickets.

A ``Stream`` is one ordered history: one per live object (``foo.<hashid>``)
and one inbox per user (``user.<hashid>``). Its row is the counter that
``notification_append`` locks, so ``Notification.seq`` is dense and in commit
order within a stream. ``epoch`` changes when the history is reset;
``pruned_through`` is the highest seq that retention has deleted;
``visibility_seq`` the latest event that changed who may see the stream.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.db import models, router, transaction
from django.utils import timezone


def new_epoch() -> str:
    return secrets.token_urlsafe(6)


class TrackedModel(models.Model):
    """An optional abstract base of live models: ``save()`` and ``delete()`` share one transaction with their events.

    Registering a model as live (``realtime.registry``) wraps its ``save()``
    and ``delete()`` the same way, so a model need not inherit this; it
    states the intent where the model is defined.
    """

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=using, savepoint=False):
            super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=using, savepoint=False):
            return super().delete(*args, **kwargs)

    save._realtime_atomic = True  # type: ignore[attr-defined]
    delete._realtime_atomic = True  # type: ignore[attr-defined]


class Stream(models.Model):
    name = models.CharField(max_length=150, unique=True)
    object_type = models.CharField(max_length=50)
    object_id = models.CharField(
        max_length=64, blank=True, default="", help_text="The subject's primary key (an object, or a user for inboxes)."
    )
    epoch = models.CharField(max_length=16, default=new_epoch)
    seq = models.PositiveBigIntegerField(default=0)
    pruned_through = models.PositiveBigIntegerField(
        default=0, help_text="Every notification with seq at or below this has been deleted."
    )
    visibility_seq = models.PositiveBigIntegerField(
        default=0, help_text="The seq of the latest event that changed who may see the stream; no replay crosses it."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["object_type", "object_id"], name="realtime_stream_object")]

    def __str__(self) -> str:
        return f"{self.name}@{self.epoch}:{self.seq}"


class Notification(models.Model):
    """One event in a stream's log; with a ``title`` it is also a user-facing notification."""

    stream = models.ForeignKey(Stream, on_delete=models.CASCADE, related_name="notifications")
    seq = models.PositiveBigIntegerField()
    event = models.CharField(max_length=100, help_text="<app>:<context>:<action>, e.g. api:foo:changed")
    action_type = models.CharField(max_length=64, help_text="Redux action type, e.g. UPDATE_FOO")
    object_type = models.CharField(max_length=50, blank=True)
    object_id = models.CharField(max_length=64, blank=True, default="", help_text="The subject's primary key.")
    payload = models.JSONField(default=dict, blank=True)
    # User-facing notification fields (inbox streams).
    title = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    icon = models.CharField(max_length=500, blank=True)
    client_action = models.CharField(max_length=500, blank=True, help_text="Where the client goes on a click.")
    push = models.BooleanField(default=False, help_text="Also deliver to the user's devices.")
    final = models.BooleanField(default=False, help_text="The stream's last event: its object was deleted.")
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["stream", "seq"], name="realtime_notification_stream_seq")]
        indexes = [models.Index(fields=["created_at"], name="realtime_notification_created")]

    def __str__(self) -> str:
        return f"{self.stream_id}#{self.seq} {self.event}"

    @property
    def is_user_facing(self) -> bool:
        return bool(self.title)


class Ticket(models.Model):
    """A one-time, short-lived credential for a WebSocket handshake (``?ticket=``).

    Only a hash of the ticket is stored; redeeming it is a single conditional
    UPDATE, so a ticket works once even across several daphne processes.
    """

    key_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"ticket for {self.user_id} until {self.expires_at:%H:%M:%S}"
