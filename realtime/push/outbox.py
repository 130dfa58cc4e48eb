"""The outbox: a pushed inbox notification becomes one delivery per active device, in its transaction.

``notification_appended`` is sent inside the transaction that appends the
notification, so the delivery rows commit or roll back with it: a
rolled-back notification leaves nothing to send, and a committed one is
never lost, even if no worker runs at the time.
"""

from __future__ import annotations

from typing import Any

from realtime import protocol
from realtime.models import Notification
from realtime.push.models import Delivery, Device
from realtime.signals import notification_appended


def deliveries_enqueue(*, notification: Notification) -> list[Delivery]:
    """Queue ``notification`` for each active device of its inbox's user; nothing for other notifications."""
    stream = notification.stream
    if stream.object_type != protocol.INBOX or not notification.push or not notification.is_user_facing:
        return []
    device_ids = Device.objects.filter(user_id=stream.object_id, active=True).values_list("pk", flat=True)
    return Delivery.objects.bulk_create(
        [Delivery(notification=notification, device_id=device_id) for device_id in device_ids]
    )


def _on_notification_appended(*, notification: Notification, **kwargs: Any) -> None:
    deliveries_enqueue(notification=notification)


def connect() -> None:
    notification_appended.connect(_on_notification_appended, dispatch_uid="realtime.push.outbox")
