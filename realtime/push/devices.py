"""Registering push targets: one device per (user, kind, address), re-registration updates it.

A push token or Web Push subscription identifies one app install or
browser profile, so registering it moves it to the registering user: the
same address held by another user is removed (a shared computer where a
second person logs in must not keep receiving the first person's pushes).
Webhook URLs are per user: several services may use the same URL.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from realtime.push.models import Device, new_webhook_secret


def device_register(
    *, user: AbstractBaseUser, kind: str, address: str, name: str = "", p256dh: str = "", auth: str = ""
) -> tuple[Device, bool]:
    """Create or update (and reactivate) ``user``'s device for ``address``; returns (device, created)."""
    try:
        return _register(user=user, kind=kind, address=address, name=name, p256dh=p256dh, auth=auth)
    except IntegrityError:  # a concurrent registration of the same address won the insert: update it instead
        return _register(user=user, kind=kind, address=address, name=name, p256dh=p256dh, auth=auth)


def _register(
    *, user: AbstractBaseUser, kind: str, address: str, name: str, p256dh: str, auth: str
) -> tuple[Device, bool]:
    with transaction.atomic():
        if kind != Device.Kind.WEBHOOK:
            Device.objects.filter(kind=kind, address=address).exclude(user=user).delete()
        device = Device.objects.select_for_update().filter(user=user, kind=kind, address=address).first()
        created = device is None
        if device is None:
            device = Device(user=user, kind=kind, address=address)
            if kind == Device.Kind.WEBHOOK:
                device.secret = new_webhook_secret()
        device.name = name or device.name
        device.p256dh, device.auth = p256dh, auth
        device.active, device.deactivated_at, device.deactivated_reason = True, None, ""
        device.save()
    return device, created
