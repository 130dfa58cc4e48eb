"""Checking a URL a user registers as a push target (webhook URL, Web Push endpoint) before it is stored.

The URL is read the way the worker's HTTP client (httpx) will read it, and
refused when readers could disagree about where it points: backslashes,
spaces or control characters, a user name or password (``user@host``),
a host that is not a plain DNS name or IP literal, or one that Python's
``urlsplit`` reads differently. Then the effective host must be on the
allowed list (Web Push: ``PUSH_WEBPUSH_HOSTS``), and a host that is an
address in any spelling (or ``localhost``) must be an address the worker
may connect to (``realtime.push.addresses``). Names are not resolved
here: what a name resolves to can change, so the worker checks the
resolved addresses when it connects.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from realtime.conf import realtime_settings
from realtime.push.addresses import address_refusal, literal_addresses

HOSTNAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.?$")
UNSAFE = re.compile(r"[\\\s\x00-\x1f\x7f]")


def target_url_refusal(url: str, *, hosts: Sequence[str] | None = None) -> str | None:
    """Why ``url`` cannot be a push target (a message for the client), or ``None`` when it may be registered.

    ``hosts``: the hosts (and their subdomains) the URL must be on; ``None`` for any host, ``"*"`` in it too.
    """
    import httpx

    if UNSAFE.search(url):
        return "Must not contain backslashes, spaces or control characters."
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        return f"Not a valid URL ({exc})."
    if parsed.scheme not in ("http", "https"):
        return "Must be an http:// or https:// URL."
    if realtime_settings.PUSH_REQUIRE_HTTPS and parsed.scheme != "https":
        return "Must be an https:// URL (REALTIME_PUSH_REQUIRE_HTTPS)."
    if parsed.userinfo:
        return "Must not contain a user name or password (user@host)."
    host = parsed.raw_host.decode("ascii").lower()
    literal = literal_addresses(host) if host else None
    if not host or (literal is None and not HOSTNAME.match(host)) or (urlsplit(url).hostname or "") != host:
        return "The host is not a plain DNS name or IP address."
    if hosts is not None and "*" not in hosts:
        name = host.rstrip(".")
        if not any(name == entry or name.endswith(f".{entry}") for entry in hosts):
            return f"{host} is not a known Web Push service (REALTIME_PUSH_WEBPUSH_HOSTS)."
    for address in literal or ():
        if reason := address_refusal(address):
            return f"Refused: {reason}."
    return None
