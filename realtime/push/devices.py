"""Registering push targets: one device per (user, kind, address), re-registration updates it.

A registration only ever creates or updates the registering user's own
row: another user's device with the same address is never read, changed
or deleted, and the answer is the same whether or not one exists (no way
to learn that someone else registered an address, and no way to knock a
victim's device off by registering its token). Each user's row is sent
to on its own. A browser or app shared by several people must therefore
unregister (``DELETE /api/devices/<id>``) when its user logs out, so the
next person does not receive the previous one's pushes (docs/push.md).
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
