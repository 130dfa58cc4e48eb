"""The devices API: register (and re-register), list, read and delete your own push targets."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from realtime.conf import DEFAULTS
from realtime.push.models import Device
from realtime.push.vapid import vapid_keys_generate
from tests.realtime.push.helpers import Subscription

pytestmark = pytest.mark.django_db

APNS_TOKEN = "0f" * 32
BAD_KEYS = {"p256dh": "AAAA", "auth": "x"}


@pytest.fixture
def webpush_on(push_settings) -> str:
    private, public = vapid_keys_generate()
    push_settings(PUSH_VAPID_PRIVATE_KEY=private, PUSH_VAPID_SUBJECT="mailto:push@example.com")
    return public


@pytest.fixture
def apns_on(push_settings) -> None:
    push_settings(PUSH_APNS_KEY="(unused here)", PUSH_APNS_KEY_ID="K", PUSH_APNS_TEAM_ID="T", PUSH_APNS_TOPIC="t")


def webpush_body(endpoint: str = "https://push.example.net/send/abc") -> dict:
    return {"kind": "webpush", "name": "Firefox", "subscription": Subscription(endpoint).as_json()}


def test_register_a_browser_then_register_it_again(client_for, alice, webpush_on):
    """The first POST creates the device (201); the same subscription again updates and reactivates it (200)."""
    client = client_for(alice)
    body = webpush_body()
    created = client.post("/api/devices/", body, format="json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["kind"] == "webpush"
    assert data["target"] == body["subscription"]["endpoint"]
    assert data["active"] is True
    assert data["secret"] is None
    assert "subscription" not in data
    Device.objects.update(active=False, deactivated_reason="HTTP 410")
    again = client.post("/api/devices", {**body, "name": "Firefox (new)"}, format="json")
    assert again.status_code == 200
    assert again.json()["id"] == data["id"]
    device = Device.objects.get()
    assert (device.active, device.deactivated_reason, device.name) == (True, "", "Firefox (new)")


def test_registering_another_users_subscription_never_touches_their_device(client_for, alice, bob, webpush_on):
    """bob registering alice's subscription gets a device of his own; alice's row is left exactly as it was."""
    body = webpush_body()
    assert client_for(alice).post("/api/devices/", body, format="json").status_code == 201
    alices = Device.objects.filter(user=alice).values().get()
    taken = client_for(bob).post("/api/devices/", body, format="json")
    unused = client_for(bob).post("/api/devices/", webpush_body("https://push.example.net/send/other"), format="json")
    assert taken.status_code == unused.status_code == 201, "the same answer as for an address nobody holds"
    assert {k: v for k, v in taken.json().items() if k not in ("id", "target", "created_at")} == {
        k: v for k, v in unused.json().items() if k not in ("id", "target", "created_at")
    }
    assert Device.objects.filter(user=alice).values().get() == alices
    assert Device.objects.filter(user=bob, address=body["subscription"]["endpoint"]).exists()


def test_apns_tokens_register(client_for, alice, apns_on):
    """An APNs token registers when APNs is configured."""
    response = client_for(alice).post("/api/devices/", {"kind": "apns", "token": APNS_TOKEN}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["target"] == APNS_TOKEN


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "webpush"}, "subscription"),
        (
            {"kind": "webpush", "subscription": {"endpoint": "https://x.example/1", "keys": BAD_KEYS}},
            "subscription",
        ),
        ({"kind": "webpush", "subscription": Subscription("http://push.example/1").as_json()}, "subscription"),
        ({**webpush_body(), "token": "x" * 30}, "token"),
        ({"kind": "apns", "token": "not-hex"}, "token"),
        ({"kind": "carrier-pigeon", "token": "x"}, "kind"),
    ],
    ids=["missing", "bad-keys", "plain-http", "extra-field", "bad-apns-token", "unknown-kind"],
)
def test_bad_registrations_are_400_with_the_field(client_for, alice, webpush_on, apns_on, push_settings, body, field):
    """Every malformed registration is one 400 naming the offending field."""
    push_settings(PUSH_REQUIRE_HTTPS=True)
    response = client_for(alice).post("/api/devices/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Device.objects.exists()


def test_kinds_without_server_credentials_are_refused(client_for, alice, push_settings):
    """FCM without credentials on the server cannot be registered (nothing would ever be sent)."""
    response = client_for(alice).post("/api/devices/", {"kind": "fcm", "token": "t" * 40}, format="json")
    assert response.status_code == 400
    assert "not configured" in response.json()["kind"][0]


def test_webhooks_need_the_permission_and_return_their_secret(client_for, alice, push_settings):
    """A user without push.register_webhook gets 403; with it, 201 and the signing secret once."""
    body = {"kind": "webhook", "url": "http://127.0.0.1:9/hooks", "name": "billing service"}
    assert client_for(alice).post("/api/devices/", body, format="json").status_code == 403
    alice.user_permissions.add(Permission.objects.get(codename="register_webhook"))
    alice = type(alice).objects.get(pk=alice.pk)  # drop the permission cache
    response = client_for(alice).post("/api/devices/", body, format="json")
    assert response.status_code == 201, response.content
    secret = response.json()["secret"]
    assert secret == Device.objects.get().secret
    listed = client_for(alice).get("/api/devices/").json()["results"]
    assert "secret" not in listed[0]


@pytest.fixture
def service(alice):
    """alice, allowed to register webhooks."""
    alice.user_permissions.add(Permission.objects.get(codename="register_webhook"))
    return type(alice).objects.get(pk=alice.pk)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://[::1]/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.5/hook",
        "https://192.168.1.10/hook",
        "https://[::ffff:169.254.169.254]/hook",
        "https://localhost/hook",
    ],
)
def test_webhooks_to_internal_addresses_are_refused(client_for, service, push_settings, url):
    """A webhook URL on a loopback, link-local or private address is a 400 on url naming the allow-list setting."""
    push_settings(PUSH_ALLOWED_INTERNAL_NETWORKS="", PUSH_REQUIRE_HTTPS=True)
    response = client_for(service).post("/api/devices/", {"kind": "webhook", "url": url}, format="json")
    assert response.status_code == 400, response.content
    assert "REALTIME_PUSH_ALLOWED_INTERNAL_NETWORKS" in response.json()["url"][0]
    assert not Device.objects.exists()


def test_webhooks_on_an_allowed_internal_network_register(client_for, service, push_settings):
    """PUSH_ALLOWED_INTERNAL_NETWORKS lets internal receivers in, and only those networks."""
    push_settings(PUSH_ALLOWED_INTERNAL_NETWORKS="10.1.0.0/16", PUSH_REQUIRE_HTTPS=True)
    client = client_for(service)
    assert (
        client.post("/api/devices/", {"kind": "webhook", "url": "https://10.1.2.3/h"}, format="json").status_code == 201
    )
    assert (
        client.post("/api/devices/", {"kind": "webhook", "url": "https://10.2.0.1/h"}, format="json").status_code == 400
    )


@pytest.mark.parametrize(
    "endpoint",
    ["https://127.0.0.1:8399\\@fcm.googleapis.com/fcm/send/abc", "https://someone@fcm.googleapis.com/fcm/send/abc"],
    ids=["backslash", "userinfo"],
)
def test_webpush_endpoints_with_tricks_in_the_authority_are_refused(
    client_for, alice, webpush_on, push_settings, endpoint
):
    """A backslash or userinfo before the push service's host is a 400: parsers disagree on where such URLs go."""
    push_settings(PUSH_WEBPUSH_HOSTS=DEFAULTS["PUSH_WEBPUSH_HOSTS"], PUSH_ALLOWED_INTERNAL_NETWORKS="")
    response = client_for(alice).post("/api/devices/", webpush_body(endpoint), format="json")
    assert response.status_code == 400, response.content
    assert "subscription" in response.json()
    assert not Device.objects.exists()


def test_you_see_and_delete_only_your_own_devices(client_for, alice, bob, make_device):
    """List, read and delete are scoped to the requesting user; others' devices are 404."""
    mine = make_device(alice, Device.Kind.FCM, "a" * 40)
    theirs = make_device(bob, Device.Kind.FCM, "b" * 40)
    client = client_for(alice)
    assert [d["id"] for d in client.get("/api/devices/").json()["results"]] == [mine.public_id]
    assert client.get(f"/api/devices/{mine.public_id}").status_code == 200
    assert client.get(f"/api/devices/{theirs.public_id}/").status_code == 404
    assert client.delete(f"/api/devices/{theirs.public_id}").status_code == 404
    assert client.delete(f"/api/devices/{mine.public_id}/").status_code == 204
    assert list(Device.objects.all()) == [theirs]


def test_anonymous_requests_are_refused(client_for):
    """The devices API needs a user."""
    assert client_for(None).get("/api/devices/").status_code == 401


def test_the_vapid_public_key_is_served(client_for, alice, webpush_on, push_settings):
    """Browsers fetch the applicationServerKey; null when Web Push is not configured."""
    assert client_for(alice).get("/api/push/vapid-public-key").json() == {"public_key": webpush_on}
    push_settings(PUSH_VAPID_PRIVATE_KEY="")
    assert client_for(alice).get("/api/push/vapid-public-key/").json() == {"public_key": None}


@pytest.mark.parametrize(
    ("endpoint", "accepted"),
    [
        ("https://fcm.googleapis.com/fcm/send/abc", True),
        ("https://updates.push.services.mozilla.com/wpush/v2/abc", True),
        ("https://wns2-by3p.notify.windows.com/w/?token=abc", True),
        ("https://web.push.apple.com/abc", True),
        ("https://169.254.169.254/latest/meta-data", False),
        ("https://internal.example/admin", False),
        ("https://evilfcm.googleapis.com.example/x", False),
    ],
)
def test_webpush_endpoints_must_be_on_a_known_push_service(
    client_for, alice, webpush_on, push_settings, endpoint, accepted
):
    """Only push-service hosts are accepted, so a user cannot point the worker at internal addresses."""
    push_settings(PUSH_WEBPUSH_HOSTS=DEFAULTS["PUSH_WEBPUSH_HOSTS"])
    response = client_for(alice).post("/api/devices/", webpush_body(endpoint), format="json")
    assert (response.status_code == 201) is accepted, response.content
    if not accepted:
        assert "REALTIME_PUSH_WEBPUSH_HOSTS" in response.json()["subscription"][0]
