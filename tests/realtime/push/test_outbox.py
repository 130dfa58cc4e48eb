"""The outbox: pushed inbox notifications become one delivery per active device, in the same transaction."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from api.models import Foo
from realtime.push.models import Delivery, Device
from tests.realtime.push.helpers import PUSHED, events, push

pytestmark = pytest.mark.django_db


def test_one_delivery_per_active_device_of_the_user(alice, bob, make_device):
    """Each active device of the recipient gets one pending delivery; inactive and other users' devices none."""
    phone = make_device(alice, Device.Kind.FCM, "token-a" * 4)
    hook = make_device(alice, Device.Kind.WEBHOOK, "http://127.0.0.1:9/hook")
    make_device(alice, Device.Kind.APNS, "ab" * 32, active=False)
    make_device(bob, Device.Kind.FCM, "token-b" * 4)

    [notification] = push(alice)

    deliveries = Delivery.objects.filter(notification=notification)
    assert {d.device_id for d in deliveries} == {phone.pk, hook.pk}
    assert {d.status for d in deliveries} == {Delivery.Status.PENDING}
    assert {d.attempts for d in deliveries} == {0}


def test_notifications_that_are_not_pushed_queue_nothing(alice, make_device):
    """push=False, a notification without title, and events on object streams create no deliveries."""
    make_device(alice, Device.Kind.WEBHOOK, "http://127.0.0.1:9/hook")
    events.send(PUSHED, users=[alice], title="Quiet", push=False)
    events.send(PUSHED, users=[alice], push=True)
    Foo.objects.create(owner=alice, name="tracked change")
    assert not Delivery.objects.exists()


def test_a_rolled_back_notification_creates_no_deliveries(alice, make_device):
    """If the appending transaction rolls back, its deliveries roll back with it."""
    make_device(alice, Device.Kind.WEBHOOK, "http://127.0.0.1:9/hook")

    class Abort(Exception):
        pass

    def append_then_fail() -> None:
        with transaction.atomic():
            push(alice)
            assert Delivery.objects.count() == 1, "queued inside the transaction"
            raise Abort

    with pytest.raises(Abort):
        append_then_fail()

    assert not Delivery.objects.exists()


def test_the_idempotency_key_is_unique_per_notification_and_device(alice, make_device):
    """A second delivery of the same notification to the same device is refused by the database."""
    device = make_device(alice, Device.Kind.WEBHOOK, "http://127.0.0.1:9/hook")
    [notification] = push(alice)
    delivery = Delivery.objects.get()
    assert delivery.idempotency_key.count(".") == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        Delivery.objects.create(notification=notification, device=device)


def test_sharing_a_foo_queues_a_push_for_the_new_member(alice, bob, make_device):
    """The demo's share notification (push=True) reaches the new member's devices, not the owner's."""
    make_device(alice, Device.Kind.WEBHOOK, "http://127.0.0.1:9/alice")
    bobs = make_device(bob, Device.Kind.WEBHOOK, "http://127.0.0.1:9/bob")
    foo = Foo.objects.create(owner=alice, name="Plans")
    foo.members.add(bob)
    [delivery] = Delivery.objects.select_related("notification")
    assert delivery.device == bobs
    assert delivery.notification.event == "api:foo:shared"
