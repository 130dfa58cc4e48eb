"""Stored state of push delivery: the users' devices and the outbox of deliveries to them.

A ``Device`` is one push target of a user: a browser's Web Push
subscription, an FCM registration token, an APNs device token, or a webhook
URL registered by a service. A ``Delivery`` is one notification to one
device; the pair is unique (the idempotency key). Its ``status`` moves
``pending`` → ``sending`` (claimed by a worker, leased until
``next_attempt_at``) → ``sent``, back to ``pending`` for a retry, or ends in
``dead`` (a dead letter: retries exhausted or rejected; requeue it) or
``dropped`` (the device is gone; never retried).
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from realtime.ids import encode_id
from realtime.models import Notification


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


class Device(models.Model):
    class Kind(models.TextChoices):
        WEBPUSH = "webpush", "Web Push"
        FCM = "fcm", "Firebase Cloud Messaging"
        APNS = "apns", "Apple Push Notification service"
        WEBHOOK = "webhook", "Webhook"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_devices")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=100, blank=True, help_text="A label the user chose, e.g. 'Work laptop'.")
    address = models.CharField(
        max_length=2048, help_text="Web Push endpoint, FCM registration token, APNs device token or webhook URL."
    )
    p256dh = models.CharField(max_length=200, blank=True, help_text="Web Push: the subscription's public key.")
    auth = models.CharField(max_length=100, blank=True, help_text="Web Push: the subscription's auth secret.")
    secret = models.CharField(max_length=100, blank=True, help_text="Webhook: the HMAC signing secret.")
    active = models.BooleanField(default=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    deactivated_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "address"], name="push_device_user_kind_address"),
        ]
        indexes = [models.Index(fields=["user", "active"], name="push_device_user_active")]
        permissions = [("register_webhook", "Can register webhook push targets")]

    def __str__(self) -> str:
        label = self.name or self.address[:40]
        return f"{self.get_kind_display()} {label} ({self.user_id})"

    @property
    def public_id(self) -> str:
        return encode_id(self.pk)


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        SENDING = "sending", "sending (claimed by a worker)"
        SENT = "sent", "sent"
        DEAD = "dead", "dead letter"
        DROPPED = "dropped", "dropped (device gone)"

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="push_deliveries")
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0, help_text="Sends started, counting the one in flight.")
    next_attempt_at = models.DateTimeField(
        default=timezone.now,
        help_text="When a worker may claim it: the next attempt while pending, the lease expiry while sending.",
    )
    leased_by = models.CharField(max_length=100, blank=True, help_text="The worker that claimed it last.")
    lease_token = models.UUIDField(null=True, blank=True, editable=False)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True, help_text="HTTP status of the last attempt.")
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["notification", "device"], name="push_delivery_notification_device"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="push_delivery_due",
                condition=Q(status__in=["pending", "sending"]),
            ),
            models.Index(fields=["status", "updated_at"], name="push_delivery_status"),
        ]

    def __str__(self) -> str:
        return f"{self.idempotency_key} {self.status}"

    @property
    def idempotency_key(self) -> str:
        """``<notification hashid>.<device hashid>``: the same for every attempt of this delivery."""
        return f"{encode_id(self.notification_id)}.{encode_id(self.device_id)}"


class DeadLetter(Delivery):
    """Dead deliveries, for their own admin page."""

    class Meta:
        proxy = True
        verbose_name = "dead letter"
