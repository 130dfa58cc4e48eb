"""The WebSocket Origin check compares full origins: scheme, host and port (``realtime.origins``, ``checks``)."""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator
from django.core.checks import run_checks
from rest_framework.authtoken.models import Token

from project.asgi import application
from realtime.origins import origin_allowed


def scope(origin: str | None, *, host: str = "127.0.0.1:8000", scheme: str = "ws", **headers: str) -> dict:
    pairs = [(b"host", host.encode())] if host else []
    if origin is not None:
        pairs.append((b"origin", origin.encode()))
    pairs += [(name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()]
    return {"type": "websocket", "scheme": scheme, "headers": pairs}


@pytest.mark.parametrize(
    "origin",
    [
        "http://127.0.0.1:8000",
        "HTTP://127.0.0.1:8000",
        "http://127.0.0.1:8000/",
    ],
)
def test_the_sites_own_origin_is_allowed(origin):
    """The origin of the page the site served (same scheme, host and port as the handshake) passes."""
    assert origin_allowed(scope(origin))


@pytest.mark.parametrize(
    "origin",
    [
        "http://127.0.0.1:9999",  # another port on the same host
        "https://127.0.0.1",  # another scheme (and port)
        "https://127.0.0.1:8000",  # another scheme
        "http://evil.example",
        "http://127.0.0.1:8000.evil.example",
        "http://user@127.0.0.1:8000",
        "http://127.0.0.1:8000/path",
        "http://127.0.0.1:8000\\@evil.example",
        "null",
        "",
        "127.0.0.1:8000",
        "ftp://127.0.0.1:8000",
    ],
)
def test_other_origins_are_refused(origin):
    """Same host name is not enough: a different port or scheme (or anything not an origin) is refused."""
    assert not origin_allowed(scope(origin))


def test_a_missing_origin_or_host_is_refused():
    """Without an Origin (or without a Host to compare it with) nothing passes."""
    assert not origin_allowed(scope(None))
    assert not origin_allowed(scope("http://127.0.0.1:8000", host=""))


def test_a_host_outside_allowed_hosts_is_refused(settings):
    """The Host the handshake names must itself be one of ALLOWED_HOSTS."""
    settings.ALLOWED_HOSTS = ["example.com"]
    assert not origin_allowed(scope("http://attacker.test", host="attacker.test"))
    assert origin_allowed(scope("http://example.com", host="example.com"))


def test_https_behind_a_proxy(settings):
    """Behind TLS termination the site's origin is https, as SECURE_PROXY_SSL_HEADER says."""
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert origin_allowed(scope("https://127.0.0.1:8000", x_forwarded_proto="https"))
    assert not origin_allowed(scope("http://127.0.0.1:8000", x_forwarded_proto="https"))
    assert origin_allowed(scope("https://example.com", host="127.0.0.1", scheme="wss")) is False
    assert origin_allowed(scope("https://127.0.0.1", host="127.0.0.1", scheme="wss"))


def test_trusted_origins_from_settings(settings):
    """CSRF_TRUSTED_ORIGINS and REALTIME["ALLOWED_ORIGINS"] (exact, or ``*.`` subdomains) are allowed."""
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.example.com"]
    settings.REALTIME = {"ALLOWED_ORIGINS": ["https://*.partner.test", "http://localhost:5173"]}
    assert origin_allowed(scope("https://app.example.com"))
    assert origin_allowed(scope("https://a.partner.test"))
    assert origin_allowed(scope("https://partner.test"))
    assert origin_allowed(scope("http://localhost:5173"))
    assert not origin_allowed(scope("http://app.example.com"))  # scheme
    assert not origin_allowed(scope("https://a.partner.test:444"))  # port
    assert not origin_allowed(scope("https://evilpartner.test"))
    assert not origin_allowed(scope("http://localhost:5174"))


def test_allowed_origins_from_the_environment_are_comma_separated(settings):
    """A REALTIME_ALLOWED_ORIGINS variable arrives as text and is split on commas."""
    settings.REALTIME = {"ALLOWED_ORIGINS": "https://one.test, https://two.test"}
    assert origin_allowed(scope("https://two.test"))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("origin", "accepted"), [("http://localhost", True), ("http://localhost:9999", False)])
async def test_the_handshake_applies_the_check(alice, origin, accepted):
    """Through the whole ASGI stack, a session-less token socket from another port is refused (HTTP 403)."""
    from asgiref.sync import sync_to_async

    token, _ = await sync_to_async(Token.objects.get_or_create)(user=alice)
    headers = [(b"host", b"localhost"), (b"origin", origin.encode()), (b"authorization", f"Token {token}".encode())]
    ws = WebsocketCommunicator(application, "/ws/notifications/", headers=headers)
    connected, _ = await ws.connect()
    assert connected is accepted
    await ws.disconnect()


def test_allowed_hosts_wildcard_warns(settings):
    """``manage.py check`` warns when ALLOWED_HOSTS contains '*' (realtime.W001)."""
    settings.ALLOWED_HOSTS = ["*"]
    assert "realtime.W001" in [message.id for message in run_checks()]
    settings.ALLOWED_HOSTS = ["example.com"]
    assert "realtime.W001" not in [message.id for message in run_checks()]
