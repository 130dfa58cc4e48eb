"""The WebSocket handshake's ``Origin`` check: full origins (scheme, host and port), not just host names.

A browser sends the page's origin with every handshake, and the session
cookie with it, so a page on another origin must not open a socket as the
user. A handshake is accepted when its ``Origin`` is

* the site's own origin: the scheme of the connection (``https`` behind TLS,
  as Django's ``SECURE_PROXY_SSL_HEADER`` says it) and the ``Host`` it was
  sent to, which must be in ``ALLOWED_HOSTS``; or
* listed in ``CSRF_TRUSTED_ORIGINS`` or ``REALTIME["ALLOWED_ORIGINS"]``
  (``https://app.example.com``; ``https://*.example.com`` for subdomains,
  as ``CSRF_TRUSTED_ORIGINS`` allows).

Anything else, a missing ``Origin`` included, is refused before the
handshake completes (HTTP 403). Non-browser clients send an ``Origin``
matching the URL they connect to.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

from realtime.conf import realtime_settings

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin1")
    return None


def _origin(text: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of an origin or ``None`` when it is not one (no path, user or query)."""
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname or parts.username is not None:
        return None
    if parts.path not in {"", "/"} or parts.query or parts.fragment or "\\" in text:
        return None
    return parts.scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[parts.scheme]


def _secure(scope: dict[str, Any]) -> bool:
    if scope.get("scheme") in {"wss", "https"}:
        return True
    proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy:
        header, value = proxy
        name = header.removeprefix("HTTP_").replace("_", "-").lower().encode("latin1")
        forwarded = _header(scope, name)
        return forwarded is not None and forwarded.split(",")[0].strip() == value
    return False


def _site_origin(scope: dict[str, Any]) -> tuple[str, str, int] | None:
    """The origin this handshake was addressed to, if its ``Host`` is one of ``ALLOWED_HOSTS``."""
    host = _header(scope, b"host")
    if host is None and scope.get("server"):
        server_host, server_port = scope["server"][:2]
        host = f"{server_host}:{server_port}" if server_port else str(server_host)
    if not host:
        return None
    domain, _port = split_domain_port(host)
    allowed = settings.ALLOWED_HOSTS or ([".localhost", "127.0.0.1", "[::1]"] if settings.DEBUG else [])
    if not domain or not validate_host(domain, allowed):
        return None
    return _origin(f"{'https' if _secure(scope) else 'http'}://{host}")


def _matches(origin: tuple[str, str, int], pattern: str) -> bool:
    scheme, host, port = origin
    if "://" not in pattern:
        return False
    pattern_scheme, rest = pattern.split("://", 1)
    if rest.startswith("*."):
        # A subdomain pattern, as in CSRF_TRUSTED_ORIGINS: "https://*.example.com[:port]".
        wanted = _origin(f"{pattern_scheme}://{rest[2:]}")
        return (
            wanted is not None
            and scheme == wanted[0]
            and port == wanted[2]
            and (host == wanted[1] or host.endswith("." + wanted[1]))
        )
    return _origin(pattern) == origin


def origin_allowed(scope: dict[str, Any]) -> bool:
    """Whether the handshake in ``scope`` comes from an allowed origin."""
    text = _header(scope, b"origin")
    origin = _origin(text) if text else None
    if origin is None:
        return False
    if origin == _site_origin(scope):
        return True
    trusted = [*getattr(settings, "CSRF_TRUSTED_ORIGINS", ()), *realtime_settings.ALLOWED_ORIGINS]
    return any(_matches(origin, pattern) for pattern in trusted)


class OriginValidator:
    """ASGI middleware: refuse WebSocket handshakes from other origins (see the module docstring)."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and not origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
