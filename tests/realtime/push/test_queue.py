"""The queue: leased claims, outcome recording (retry, dead letter, drop), lease expiry and requeue."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from realtime.push.backends import Outcome
from realtime.push.models import Delivery, Device
from realtime.push.queue import deliveries_requeue, delivery_claim, delivery_record
from tests.realtime.push.helpers import push

pytestmark = pytest.mark.django_db

Status = Delivery.Status


@pytest.fixture
def queued(alice, make_device, push_settings) -> list[Delivery]:
    """Three pending deliveries to one webhook device of alice."""
    make_device(alice, Device.Kind.WEBHOOK, "http://127.0.0.1:9/hook")
    push(alice)
    push(alice)
    push(alice)
    return list(Delivery.objects.order_by("pk"))


def test_claim_leases_due_deliveries_once(queued):
    """A claim marks rows sending under a lease; a second claim gets nothing while the lease runs."""
    claimed = delivery_claim(worker="w1", limit=2, lease_seconds=60)
    assert [d.pk for d in claimed] == [d.pk for d in queued[:2]]
    for delivery in claimed:
        assert delivery.status == Status.SENDING
        assert delivery.attempts == 1
        assert delivery.leased_by == "w1"
        assert delivery.lease_token is not None
        assert delivery.next_attempt_at > timezone.now() + timedelta(seconds=50)
        assert delivery.notification.stream.name.startswith("user.")
    rest = delivery_claim(worker="w2", limit=10, lease_seconds=60)
    assert [d.pk for d in rest] == [queued[2].pk]
    assert delivery_claim(worker="w3", limit=10, lease_seconds=60) == []


def test_deliveries_not_yet_due_are_not_claimed(queued):
    """A pending delivery whose next attempt is in the future stays in the queue."""
    Delivery.objects.update(next_attempt_at=timezone.now() + timedelta(minutes=5))
    assert delivery_claim(worker="w1", limit=10) == []


def test_an_expired_lease_is_reclaimed_and_the_stale_worker_cannot_record(queued):
    """After the lease expires another worker claims the row; the first worker's late outcome is ignored."""
    [first] = delivery_claim(worker="dead-worker", limit=1, lease_seconds=60)
    Delivery.objects.filter(pk=first.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    [again] = delivery_claim(worker="w2", limit=1, lease_seconds=60)
    assert again.pk == first.pk
    assert again.attempts == 2

    [stale] = delivery_record(results=[(first, Outcome.sent(200))])
    assert stale.applied is False
    assert Delivery.objects.get(pk=first.pk).status == Status.SENDING
    [fresh] = delivery_record(results=[(again, Outcome.sent(200))])
    assert fresh.applied is True
    assert Delivery.objects.get(pk=first.pk).status == Status.SENT


def test_recording_each_outcome(queued, push_settings):
    """sent → sent; retry → pending later, not before Retry-After; rejected → dead."""
    sent, retried, rejected = delivery_claim(worker="w", limit=3)
    delivery_record(
        results=[
            (sent, Outcome.sent(201)),
            (retried, Outcome.retry("HTTP 429", status=429, retry_after=120)),
            (rejected, Outcome.rejected("HTTP 413", status=413)),
        ]
    )
    sent.refresh_from_db()
    assert (sent.status, sent.last_status, sent.lease_token) == (Status.SENT, 201, None)
    assert sent.sent_at is not None
    retried.refresh_from_db()
    assert (retried.status, retried.last_status, retried.last_error) == (Status.PENDING, 429, "HTTP 429")
    assert retried.next_attempt_at >= retried.updated_at + timedelta(seconds=120)
    rejected.refresh_from_db()
    assert (rejected.status, rejected.attempts) == (Status.DEAD, 1)


def test_retries_end_in_the_dead_letter_status(queued, push_settings):
    """The attempt that reaches PUSH_MAX_ATTEMPTS and fails makes a dead letter."""
    push_settings(PUSH_MAX_ATTEMPTS=2)
    target = queued[0]
    Delivery.objects.exclude(pk=target.pk).delete()
    for expected in (Status.PENDING, Status.DEAD):
        Delivery.objects.filter(pk=target.pk).update(next_attempt_at=timezone.now())
        [claimed] = delivery_claim(worker="w", limit=1)
        delivery_record(results=[(claimed, Outcome.retry("HTTP 500", status=500))])
        assert Delivery.objects.get(pk=target.pk).status == expected
    assert Delivery.objects.get(pk=target.pk).attempts == 2


def test_gone_deactivates_the_device_and_drops_its_queue(queued):
    """A permanent device error drops the delivery and everything else pending for that device."""
    [claimed] = delivery_claim(worker="w", limit=1)
    delivery_record(results=[(claimed, Outcome.gone("HTTP 410", status=410))])
    device = Device.objects.get()
    assert device.active is False
    assert device.deactivated_reason == "HTTP 410"
    assert set(Delivery.objects.values_list("status", flat=True)) == {Status.DROPPED}


def test_requeue_gives_dead_letters_a_fresh_budget(queued, alice, make_device):
    """Requeued dead letters are pending with zero attempts; those of inactive devices stay dead."""
    Delivery.objects.update(status=Status.DEAD, attempts=4, next_attempt_at=timezone.now() + timedelta(days=1))
    gone = make_device(alice, Device.Kind.FCM, "t" * 40, active=False)
    orphan = Delivery.objects.create(notification=queued[0].notification, device=gone, status=Status.DEAD)
    assert deliveries_requeue(deliveries=Delivery.objects.all()) == 3
    assert set(Delivery.objects.exclude(pk=orphan.pk).values_list("status", "attempts")) == {(Status.PENDING, 0)}
    assert Delivery.objects.get(pk=orphan.pk).status == Status.DEAD
    assert len(delivery_claim(worker="w", limit=10)) == 3


@pytest.mark.postgres
def test_claims_use_skip_locked_on_postgresql(queued):
    """On PostgreSQL the claim locks its rows with FOR UPDATE SKIP LOCKED and a LIMIT of the batch size."""
    with CaptureQueriesContext(connection) as queries:
        delivery_claim(worker="w", limit=2)
    [select] = [q["sql"] for q in queries if "FOR UPDATE" in q["sql"]]
    assert "SKIP LOCKED" in select
    assert "LIMIT 2" in select


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_claim_skips_rows_another_worker_holds_instead_of_waiting(queued):
    """While another worker's transaction holds a due row, a claim takes the other rows at once, never waiting on it.

    The claiming connection has a 2 s ``lock_timeout``: a claim that waited on the held row would fail with it.
    """
    held, release = threading.Event(), threading.Event()

    def hold_first_row() -> None:
        try:
            with transaction.atomic():
                list(Delivery.objects.select_for_update().filter(pk=queued[0].pk))
                held.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_first_row)
    holder.start()
    try:
        assert held.wait(timeout=10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")
        claimed = delivery_claim(worker="w2", limit=10, lease_seconds=60)
    finally:
        release.set()
        holder.join(timeout=30)
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    assert [d.pk for d in claimed] == [d.pk for d in queued[1:]]
    assert Delivery.objects.get(pk=queued[0].pk).status == Status.PENDING
