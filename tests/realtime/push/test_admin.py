"""The admin lists devices, deliveries by status and dead letters, and requeues dead letters."""

from __future__ import annotations

import pytest
from django.test import Client

from realtime.push.models import Delivery, Device
from tests.realtime.push.helpers import push

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(staff) -> Client:
    staff.is_superuser = True
    staff.save()
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def dead_and_sent(alice, make_device) -> tuple[Delivery, Delivery]:
    make_device(alice, Device.Kind.WEBHOOK, "http://127.0.0.1:9/hook")
    push(alice)
    push(alice)
    dead, sent = Delivery.objects.order_by("pk")
    Delivery.objects.filter(pk=dead.pk).update(status="dead", attempts=10, last_error="HTTP 503: still down")
    Delivery.objects.filter(pk=sent.pk).update(status="sent")
    return dead, sent


@pytest.mark.parametrize(
    "url",
    [
        "/admin/push/device/",
        "/admin/push/delivery/",
        "/admin/push/delivery/?status__exact=dead",
        "/admin/push/deadletter/",
    ],
)
def test_admin_pages_render(admin_client_, dead_and_sent, url):
    """Each push admin page renders for a superuser."""
    assert admin_client_.get(url).status_code == 200


def test_dead_letters_page_lists_only_dead_deliveries(admin_client_, dead_and_sent):
    """The dead-letter page shows the dead delivery and its error, not the sent one."""
    page = admin_client_.get("/admin/push/deadletter/")
    assert page.context["cl"].result_count == 1
    assert "still down" in page.content.decode()


def test_the_requeue_action_revives_dead_letters(admin_client_, dead_and_sent):
    """Selecting dead letters and running 'requeue' makes them pending again."""
    dead, sent = dead_and_sent
    response = admin_client_.post(
        "/admin/push/deadletter/", {"action": "requeue", "_selected_action": [dead.pk, sent.pk]}, follow=True
    )
    assert response.status_code == 200
    dead.refresh_from_db()
    assert (dead.status, dead.attempts) == ("pending", 0)
    assert Delivery.objects.get(pk=sent.pk).status == "sent"
