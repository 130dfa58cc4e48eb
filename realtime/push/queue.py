"""The delivery queue: claim due deliveries under a lease, record outcomes, requeue dead letters.

Claiming is one short transaction: ``SELECT ... FOR UPDATE SKIP LOCKED`` of
at most ``limit`` due rows (pending and due, or sending with an expired
lease), then one UPDATE that marks them ``sending``, counts the attempt,
stamps a fresh ``lease_token`` and moves ``next_attempt_at`` to the lease
expiry. Concurrent workers skip each other's locked rows, and a committed
claim no longer matches the due filter, so no row is claimed twice while
its lease runs. A worker that dies mid-batch leaves its rows ``sending``;
they become due again when the lease expires and another worker takes them
(at-least-once: a send that happened but was not recorded is repeated,
with the same idempotency key).

Sending happens outside any transaction. Recording an outcome updates the
row only if it still carries the claim's ``lease_token``, so a worker whose
lease expired cannot overwrite the newer claim's result.

SQLite has no ``SKIP LOCKED``; there the claim relies on the write lock
its IMMEDIATE transactions take, which serialises claims. Run one worker
per SQLite database (docs/push.md).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from realtime.conf import realtime_settings
from realtime.push.backends.base import Outcome, Result
from realtime.push.models import Delivery, Device
from realtime.push.retry import backoff_delay

logger = logging.getLogger(__name__)

Status = Delivery.Status
DUE = (Status.PENDING, Status.SENDING)


def deliveries_due() -> QuerySet[Delivery]:
    return Delivery.objects.filter(status__in=DUE, next_attempt_at__lte=timezone.now())


def delivery_claim(*, worker: str, limit: int, lease_seconds: float | None = None) -> list[Delivery]:
    """Lease up to ``limit`` due deliveries to ``worker``; returns them with device and notification loaded."""
    lease = realtime_settings.PUSH_LEASE_SECONDS if lease_seconds is None else lease_seconds
    token = uuid.uuid4()
    with transaction.atomic():
        now = timezone.now()
        due = Delivery.objects.filter(status__in=DUE, next_attempt_at__lte=now).order_by("next_attempt_at", "pk")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        ids = list(due.values_list("pk", flat=True)[:limit])
        if not ids:
            return []
        Delivery.objects.filter(pk__in=ids).update(
            status=Status.SENDING,
            attempts=F("attempts") + 1,
            next_attempt_at=now + timedelta(seconds=lease),
            leased_by=worker[:100],
            lease_token=token,
            updated_at=now,
        )
    return list(
        Delivery.objects.select_related("device", "notification__stream")
        .filter(pk__in=ids, lease_token=token)
        .order_by("pk")
    )


@dataclass(frozen=True)
class Recorded:
    """What ``delivery_record`` did with one outcome."""

    delivery_id: int
    status: str
    #: False when the lease had expired and another claim owns the row (nothing was written).
    applied: bool


def delivery_record(*, results: Iterable[tuple[Delivery, Outcome]]) -> list[Recorded]:
    """Store the outcome of each attempt in one transaction; deactivate devices that are gone.

    Only the batch's own delivery rows are written for the common outcomes: no
    per-device counter, whose hot row would serialise concurrent workers and
    let their record transactions deadlock.
    """
    recorded = []
    with transaction.atomic():
        now = timezone.now()
        for delivery, outcome in results:
            fields = _fields_for(delivery=delivery, outcome=outcome, now=now)
            applied = bool(
                Delivery.objects.filter(pk=delivery.pk, lease_token=delivery.lease_token, status=Status.SENDING).update(
                    **fields, updated_at=now
                )
            )
            if not applied:
                logger.warning("Delivery %s: lease lost before its outcome (%s) was recorded", delivery.pk, outcome)
            elif outcome.result == Result.GONE:
                device_deactivate(device_id=delivery.device_id, reason=outcome.error)
            recorded.append(Recorded(delivery.pk, fields["status"], applied))
    return recorded


def _fields_for(*, delivery: Delivery, outcome: Outcome, now) -> dict:
    fields: dict = {"last_status": outcome.status, "last_error": outcome.error[:2000], "lease_token": None}
    if outcome.result == Result.SENT:
        return {**fields, "status": Status.SENT, "sent_at": now, "last_error": ""}
    if outcome.result == Result.GONE:
        return {**fields, "status": Status.DROPPED}
    if outcome.result == Result.REJECTED or delivery.attempts >= realtime_settings.PUSH_MAX_ATTEMPTS:
        return {**fields, "status": Status.DEAD}
    delay = backoff_delay(attempts=delivery.attempts, retry_after=outcome.retry_after)
    return {**fields, "status": Status.PENDING, "next_attempt_at": now + timedelta(seconds=delay)}


def device_deactivate(*, device_id: int, reason: str) -> None:
    """Mark a device inactive and drop what is still queued for it."""
    now = timezone.now()
    Device.objects.filter(pk=device_id, active=True).update(
        active=False, deactivated_at=now, deactivated_reason=reason[:300]
    )
    Delivery.objects.filter(device_id=device_id, status=Status.PENDING).update(
        status=Status.DROPPED, last_error=f"device deactivated: {reason}"[:2000], updated_at=now
    )


def deliveries_requeue(*, deliveries: QuerySet[Delivery]) -> int:
    """Put dead letters (of ``deliveries``) back in the queue with a fresh attempt budget; returns how many.

    Dead letters of inactive devices stay dead: there is nothing to send them to.
    """
    now = timezone.now()
    return deliveries.filter(status=Status.DEAD, device__active=True).update(
        status=Status.PENDING, attempts=0, next_attempt_at=now, lease_token=None, updated_at=now
    )
