"""The send-time address check, through the real worker: resolve once, check every address, connect to it.

Device rows are created directly, as a row registered before the check
existed or a name that resolved to a public address at registration would
be. Every receiver listens on a loopback address; ``PUSH_ALLOWED_INTERNAL_NETWORKS``
opens only ``127.0.0.2`` here, so a request reaching a receiver on any
other address proves the check missing. Names are ``localhost``, which the
system resolver answers locally, and ``ScriptedDns`` stands in for a DNS
server (a rebinding one answers differently on the second lookup).
"""

from __future__ import annotations

import logging
import ssl
from collections import Counter

import pytest
import trustme

from realtime.push.backends.webhook import WebhookBackend
from realtime.push.backends.webpush import WebPushBackend
from realtime.push.models import Delivery, Device
from realtime.push.vapid import vapid_keys_generate
from tests.realtime.push.helpers import Subscription, push, run_worker
from tests.realtime.push.servers import HTTPReceiver
from tests.servers import free_port

pytestmark = pytest.mark.django_db

ALLOWED = "127.0.0.2"


class ScriptedDns(WebhookBackend):
    """A webhook backend whose DNS answers come from a script: the first lookup, then every later one."""

    def __init__(self, *answers: list[str]) -> None:
        super().__init__()
        self.answers = answers
        self.lookups: list[str] = []

    async def resolve(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        return self.answers[min(len(self.lookups), len(self.answers)) - 1]


@pytest.fixture
def only_allowed(push_settings) -> None:
    push_settings(PUSH_ALLOWED_INTERNAL_NETWORKS=f"{ALLOWED}/32")


@pytest.fixture
def allowed_receiver(only_allowed) -> HTTPReceiver:
    with HTTPReceiver(host=ALLOWED) as server:
        yield server


def warnings_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("realtime") and r.levelno >= logging.WARNING]


@pytest.mark.parametrize(
    ("host", "listen"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("localhost", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("[::ffff:127.0.0.1]", "127.0.0.1"),
    ],
)
def test_a_webhook_on_a_refused_address_is_never_connected_to(
    alice, make_device, allowed_receiver, caplog, host, listen
):
    """Loopback in any spelling: no connection, the device is deactivated with the reason, one log line."""
    with HTTPReceiver(host=listen) as internal:
        refused = make_device(alice, Device.Kind.WEBHOOK, f"http://{host}:{internal.port}/internal")
        make_device(alice, Device.Kind.WEBHOOK, f"{allowed_receiver.url}/hook")
        push(alice)
        with caplog.at_level(logging.INFO):
            stats = run_worker()
    assert internal.received == [], "the worker connected to a refused address"
    assert len(allowed_receiver.received) == 1, "the rest of the batch was sent"
    assert stats == Counter({"sent": 1, "dropped": 1})
    refused.refresh_from_db()
    assert refused.active is False
    assert "is a loopback address" in refused.deactivated_reason
    assert "REALTIME_PUSH_ALLOWED_INTERNAL_NETWORKS" in refused.deactivated_reason
    assert Delivery.objects.get(device=refused).status == "dropped"
    [line] = warnings_logged(caplog)
    assert "Refused to connect" in line


def test_a_url_the_client_cannot_read_is_dropped_without_a_traceback(alice, make_device, caplog, push_settings):
    """httpx refuses to read ``0177.0.0.1`` (octal): the device is gone, with one warning and no retries."""
    make_device(alice, Device.Kind.WEBHOOK, "http://0177.0.0.1:9/hook")
    push(alice)
    with caplog.at_level(logging.INFO):
        run_worker()
    assert Delivery.objects.get().status == "dropped"
    [line] = warnings_logged(caplog)
    assert "Invalid URL" in line
    assert not any(record.exc_info for record in caplog.records)


def test_the_connection_goes_to_the_checked_address(alice, make_device, only_allowed):
    """DNS rebinding: the name is resolved once and that checked address is connected to, Host kept on the name."""
    port = free_port()
    with HTTPReceiver(host=ALLOWED, port=port) as checked, HTTPReceiver(host="127.0.0.3", port=port) as rebound:
        make_device(alice, Device.Kind.WEBHOOK, f"http://localhost:{port}/hook")
        backend = ScriptedDns([ALLOWED], ["127.0.0.3"])
        push(alice)
        assert run_worker(backends={"webhook": backend})["sent"] == 1
    assert rebound.received == [], "the name was resolved again to connect"
    [request] = checked.received
    assert request.headers["host"] == f"localhost:{port}"
    assert backend.lookups == ["localhost"]


def test_every_resolved_address_is_checked(alice, make_device, allowed_receiver):
    """One refused address among a name's answers refuses the name, even when the first one is allowed."""
    make_device(alice, Device.Kind.WEBHOOK, f"http://localhost:{allowed_receiver.port}/hook")
    push(alice)
    run_worker(backends={"webhook": ScriptedDns([ALLOWED, "169.254.169.254"])})
    assert allowed_receiver.received == []
    device = Device.objects.get()
    assert device.active is False
    assert "localhost resolves to 169.254.169.254" in device.deactivated_reason


def test_tls_is_verified_against_the_name_not_the_pinned_address(alice, make_device, only_allowed):
    """Over HTTPS the pinned connection still sends SNI and verifies the certificate for the URL's name."""
    ca = trustme.CA()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_tls)  # a certificate for the name only, no IP address in it
    names: list[str | None] = []
    server_tls.sni_callback = lambda sock, name, context: names.append(name)

    class TrustsTheTestCa(ScriptedDns):
        def get_ssl_context(self) -> ssl.SSLContext:
            context = ssl.create_default_context()
            ca.configure_trust(context)
            return context

    with HTTPReceiver(host=ALLOWED, tls=server_tls) as receiver:
        make_device(alice, Device.Kind.WEBHOOK, f"https://localhost:{receiver.port}/hook")
        push(alice)
        assert run_worker(backends={"webhook": TrustsTheTestCa([ALLOWED])})["sent"] == 1
    assert names == ["localhost"]
    assert len(receiver.received) == 1


def test_a_web_push_endpoint_on_a_refused_address_is_never_connected_to(alice, make_device, receiver, push_settings):
    """Web Push endpoints are users' choices too: the same check applies to them."""
    private, _ = vapid_keys_generate()
    push_settings(
        PUSH_VAPID_PRIVATE_KEY=private, PUSH_VAPID_SUBJECT="mailto:push@example.com", PUSH_ALLOWED_INTERNAL_NETWORKS=""
    )
    browser = Subscription(f"{receiver.url}/push/v2/abc")
    make_device(alice, Device.Kind.WEBPUSH, browser.endpoint, p256dh=browser.p256dh, auth=browser.auth)
    push(alice)
    run_worker(backends={"webpush": WebPushBackend()})
    assert receiver.received == []
    assert Delivery.objects.get().status == "dropped"
    assert "loopback" in Device.objects.get().deactivated_reason
