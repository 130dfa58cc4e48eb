"""The worker loop: what it does with inactive devices, failing backends, bad configuration and stop()."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.core.exceptions import ImproperlyConfigured

from realtime.push.backends import Outcome, PushBackend, get_backends
from realtime.push.backends.webhook import WebhookBackend
from realtime.push.models import Delivery, Device
from realtime.push.worker import PushWorker
from tests.realtime.push.helpers import push, run_worker

pytestmark = pytest.mark.django_db


class Exploding(PushBackend):
    kind = "webhook"

    async def send(self, **kwargs: object) -> Outcome:
        raise RuntimeError("bug in a backend")


def test_a_device_deactivated_after_queueing_is_dropped_unsent(alice, make_device, receiver, push_settings):
    """A delivery whose device went inactive meanwhile is dropped without a request."""
    device = make_device(alice, Device.Kind.WEBHOOK, receiver.url)
    push(alice)
    Device.objects.filter(pk=device.pk).update(active=False, deactivated_reason="removed by hand")
    run_worker()
    delivery = Delivery.objects.get()
    assert delivery.status == "dropped"
    assert "removed by hand" in delivery.last_error
    assert receiver.received == []


def test_a_backend_exception_is_a_retry_not_a_crash(alice, make_device, push_settings):
    """An exception inside a backend is logged; the delivery is retried later and the worker goes on."""
    make_device(alice, Device.Kind.WEBHOOK, "http://127.0.0.1:9/")
    push(alice)
    stats = run_worker(backends={"webhook": Exploding()})
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.last_error) == ("pending", "RuntimeError: bug in a backend")
    assert stats["pending"] == 1


def test_a_kind_without_backend_is_a_dead_letter(alice, make_device, push_settings):
    """A delivery for a kind the worker has no backend for dies with a clear error."""
    make_device(alice, Device.Kind.WEBHOOK, "http://127.0.0.1:9/")
    push(alice)
    run_worker(backends={})
    delivery = Delivery.objects.get()
    assert delivery.status == "dead"
    assert "No push backend" in delivery.last_error


def test_half_configured_backends_fail_the_start_up_check(push_settings):
    """APNs with a key id but no key is a start-up error naming the missing variables."""
    push_settings(PUSH_APNS_KEY_ID="K123")
    with pytest.raises(ImproperlyConfigured, match="REALTIME_PUSH_APNS_KEY"):
        PushWorker(backends=get_backends()).check()


def test_the_start_up_check_lists_the_configured_kinds(push_settings):
    """With no provider credentials only webhooks are enabled."""
    assert PushWorker().check() == ["webhook"]


def test_stop_ends_the_loop_after_the_batch_in_flight(alice, make_device, receiver, push_settings):
    """stop() while a batch is sending lets it finish and be recorded, then run() returns."""
    make_device(alice, Device.Kind.WEBHOOK, receiver.url)
    push(alice)
    push(alice)

    class StopsMidBatch(WebhookBackend):
        async def send(self, **kwargs: Any) -> Outcome:
            if not worker.stopping:
                worker.stop()  # as the SIGTERM handler does (a second stop() would cancel at once)
            return await super().send(**kwargs)

    worker = PushWorker(idle_seconds=30, backends={"webhook": StopsMidBatch()})

    async def main() -> None:
        await asyncio.wait_for(worker.run(), timeout=20)

    async_to_sync(main)()
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}
    assert worker.stats["sent"] == 2
    assert len(receiver.received) == 2


def test_a_vapid_key_without_subject_fails_the_start_up_check(push_settings):
    """Push services require a VAPID subject: a key without one is a start-up error saying what to set."""
    from realtime.push.vapid import vapid_keys_generate

    push_settings(PUSH_VAPID_PRIVATE_KEY=vapid_keys_generate()[0], PUSH_VAPID_SUBJECT="")
    with pytest.raises(ImproperlyConfigured, match="REALTIME_PUSH_VAPID_SUBJECT"):
        PushWorker().check()


def test_a_malformed_internal_network_fails_the_start_up_check(push_settings):
    """A typo in PUSH_ALLOWED_INTERNAL_NETWORKS stops the worker at start-up, naming the setting."""
    push_settings(PUSH_ALLOWED_INTERNAL_NETWORKS="10.0.0.0/33")
    with pytest.raises(ImproperlyConfigured, match="REALTIME_PUSH_ALLOWED_INTERNAL_NETWORKS"):
        PushWorker().check()
