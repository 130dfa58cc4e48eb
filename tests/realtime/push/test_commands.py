"""Management commands: requeue dead letters and generate VAPID keys."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from realtime.push.models import Delivery, Device
from realtime.push.vapid import vapid_public_key
from tests.realtime.push.helpers import push

pytestmark = pytest.mark.django_db


@pytest.fixture
def dead_letters(alice, make_device) -> list[Delivery]:
    make_device(alice, Device.Kind.WEBHOOK, "http://127.0.0.1:9/hook")
    make_device(alice, Device.Kind.FCM, "f" * 40)
    push(alice)
    Delivery.objects.update(status="dead", attempts=10)
    return list(Delivery.objects.order_by("pk"))


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_requeue_by_id(dead_letters):
    """Named dead letters are requeued; the others stay dead."""
    first, second = dead_letters
    assert "Requeued 1" in run("push_requeue", str(first.pk))
    assert Delivery.objects.get(pk=first.pk).status == "pending"
    assert Delivery.objects.get(pk=second.pk).status == "dead"


def test_requeue_all_of_a_kind_and_dry_run(dead_letters):
    """--dry-run only counts; --all --kind narrows to one device kind."""
    assert "2 dead letter(s) would be requeued" in run("push_requeue", "--all", "--dry-run")
    assert set(Delivery.objects.values_list("status", flat=True)) == {"dead"}
    assert "Requeued 1" in run("push_requeue", "--all", "--kind", "fcm")
    assert Delivery.objects.get(device__kind="fcm").status == "pending"


def test_requeue_needs_ids_or_all(dead_letters):
    """Without ids or --all the command refuses instead of requeueing everything."""
    with pytest.raises(CommandError, match="--all"):
        call_command("push_requeue")


def test_vapid_keys_command_prints_a_usable_key(settings):
    """The printed REALTIME_PUSH_VAPID_PRIVATE_KEY configures Web Push with the printed public key."""
    output = run("push_vapid_keys")
    values = dict(line.split("=", 1) for line in output.splitlines() if line.startswith("REALTIME_"))
    settings.REALTIME = {**settings.REALTIME, "PUSH_VAPID_PRIVATE_KEY": values["REALTIME_PUSH_VAPID_PRIVATE_KEY"]}
    assert vapid_public_key() in output
