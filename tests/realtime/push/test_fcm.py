"""FCM HTTP v1 against a local server: OAuth service-account token exchange, message shape, error mapping."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from realtime.frames import event_frame
from realtime.push.backends import get_backends
from realtime.push.models import Delivery, Device
from tests.realtime.push.helpers import make_due, push, run_worker
from tests.realtime.push.servers import Received, Reply

pytestmark = pytest.mark.django_db

PROJECT = "demo-project"
TOKEN = "fcm-registration-token:" + "A" * 60


def fcm_error(status: int, rpc_status: str, error_code: str = "", field: str = "") -> Reply:
    details = []
    if error_code:
        details.append({"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": error_code})
    if field:
        details.append({"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [{"field": field}]})
    body = {"error": {"code": status, "message": "Request failed", "status": rpc_status, "details": details}}
    return Reply(status, json.dumps(body).encode(), {"Content-Type": "application/json"})


class FakeFcm:
    """Google's OAuth token endpoint and the FCM v1 send endpoint, checking what real ones check."""

    def __init__(self, *, url: str, public_key: rsa.RSAPublicKey) -> None:
        self.url = url
        self.public_key = public_key
        self.tokens_issued = 0
        self.messages: list[dict] = []
        self.send_errors: list[Reply] = []

    @property
    def access_token(self) -> str:
        return f"ya29.test-{self.tokens_issued}"

    def __call__(self, request: Received) -> Reply:
        if request.path == "/token":
            form = {key: values[0] for key, values in parse_qs(request.body.decode()).items()}
            assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
            claims = jwt.decode(form["assertion"], self.public_key, algorithms=["RS256"], audience=f"{self.url}/token")
            assert claims["iss"] == "push@demo-project.iam.gserviceaccount.com"
            assert claims["scope"] == "https://www.googleapis.com/auth/firebase.messaging"
            self.tokens_issued += 1
            return Reply(200, json.dumps({"access_token": self.access_token, "expires_in": 3599}).encode())
        assert request.path == f"/v1/projects/{PROJECT}/messages:send"
        if request.headers["authorization"] != f"Bearer {self.access_token}":
            return fcm_error(401, "UNAUTHENTICATED")
        if self.send_errors:
            return self.send_errors.pop(0)
        self.messages.append(json.loads(request.body)["message"])
        return Reply(200, json.dumps({"name": f"projects/{PROJECT}/messages/1"}).encode())


@pytest.fixture
def fcm(receiver, push_settings, tmp_path) -> FakeFcm:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    account = {
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": "key-1",
        "private_key": pem.decode(),
        "client_email": "push@demo-project.iam.gserviceaccount.com",
        "token_uri": f"{receiver.url}/token",
    }
    path = tmp_path / "service-account.json"
    path.write_text(json.dumps(account))
    push_settings(PUSH_FCM_CREDENTIALS=str(path), PUSH_FCM_ENDPOINT=receiver.url)
    server = FakeFcm(url=receiver.url, public_key=key.public_key())
    receiver.handler = server
    return server


@pytest.fixture
def phone(alice, make_device) -> Device:
    return make_device(alice, Device.Kind.FCM, TOKEN)


def test_a_message_reaches_fcm_with_an_oauth_token(alice, fcm, phone):
    """The worker exchanges a signed assertion for a token once and sends notification + frame data."""
    [first] = push(alice, title="Hi", body="there")
    push(alice)
    assert run_worker()["sent"] == 2
    assert fcm.tokens_issued == 1
    [message] = [m for m in fcm.messages if m["notification"]["title"] == "Hi"]  # the two are sent concurrently
    assert message["token"] == TOKEN
    assert message["notification"] == {"title": "Hi", "body": "there"}
    assert all(isinstance(value, str) for value in message["data"].values())
    assert json.loads(message["data"]["frame"]) == event_frame(first)


@pytest.mark.parametrize(
    "error",
    [
        fcm_error(404, "NOT_FOUND", "UNREGISTERED"),
        fcm_error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", field="message.token"),
        fcm_error(403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH"),
    ],
    ids=["unregistered", "invalid-token", "sender-mismatch"],
)
def test_token_errors_deactivate_the_device(alice, fcm, phone, error):
    """UNREGISTERED, an INVALID_ARGUMENT about the token and SENDER_ID_MISMATCH drop the device."""
    fcm.send_errors.append(error)
    push(alice)
    run_worker()
    assert Delivery.objects.get().status == "dropped"
    assert Device.objects.get().active is False


def test_an_invalid_message_is_a_dead_letter(alice, fcm, phone):
    """INVALID_ARGUMENT about something other than the token keeps the device and kills the message."""
    fcm.send_errors.append(fcm_error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", field="message.data"))
    push(alice)
    run_worker()
    assert Delivery.objects.get().status == "dead"
    assert Device.objects.get().active is True


def test_an_expired_access_token_is_renewed(alice, fcm, phone):
    """A 401 makes the worker fetch a new access token and the retry goes through."""
    backends = get_backends()  # one worker's backends: the access token is cached across batches
    push(alice)
    run_worker(backends=backends)
    fcm.tokens_issued += 1  # the server forgets the token it issued: the worker's is now stale
    push(alice)
    run_worker(backends=backends)
    assert Delivery.objects.filter(status="pending").count() == 1
    assert fcm.tokens_issued == 2, "no new token before the 401"
    make_due()
    run_worker(backends=backends)
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}
    assert fcm.tokens_issued == 3


def test_unavailable_is_retried_after_retry_after(alice, fcm, phone):
    """503 UNAVAILABLE with Retry-After is retried, not before the time FCM asked for."""
    error = fcm_error(503, "UNAVAILABLE")
    error.headers["Retry-After"] = "30"
    fcm.send_errors.append(error)
    push(alice)
    run_worker()
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.last_status) == ("pending", 503)
    assert (delivery.next_attempt_at - delivery.updated_at).total_seconds() >= 30
