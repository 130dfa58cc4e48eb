"""One-time, short-lived WebSocket tickets for clients that can send neither cookies nor headers.

``POST /api/realtime/ticket`` issues one; the client opens
``/ws/notifications/?ticket=<key>`` within ``TICKET_TTL`` seconds. Only a
SHA-256 of the key is stored, and redeeming is one conditional UPDATE, so a
ticket authenticates exactly one handshake, whichever process receives it.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from realtime.conf import realtime_settings
from realtime.models import Ticket


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def ticket_issue(*, user: AbstractBaseUser) -> str:
    """Create a ticket for ``user`` and return its key (shown once, never stored)."""
    key = secrets.token_urlsafe(32)
    expires_at = timezone.now() + timedelta(seconds=realtime_settings.TICKET_TTL)
    Ticket.objects.create(key_hash=_hash(key), user=user, expires_at=expires_at)
    return key


def ticket_redeem(*, key: str) -> AbstractBaseUser | None:
    """Use up a ticket; return its (active) user, or ``None`` if unknown, used or expired."""
    if not key or len(key) > 128:
        return None
    now = timezone.now()
    tickets = Ticket.objects.filter(key_hash=_hash(key), used_at__isnull=True, expires_at__gt=now)
    if tickets.update(used_at=now) != 1:
        return None
    user = Ticket.objects.select_related("user").get(key_hash=_hash(key)).user
    return user if user.is_active else None


def tickets_prune() -> int:
    """Delete used and expired tickets; returns how many."""
    from django.db.models import Q

    count, _ = Ticket.objects.filter(Q(used_at__isnull=False) | Q(expires_at__lte=timezone.now())).delete()
    return count
