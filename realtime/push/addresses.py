"""Which network addresses a push target chosen by a user may reach: public unicast only, unless allowed.

Webhook URLs and Web Push endpoints are chosen by whoever registers them,
and the worker POSTs to them from inside the deployment, so an address
such as ``127.0.0.1``, ``169.254.169.254`` (cloud metadata) or ``10.0.0.5``
would let a user make the server call its own internal services (SSRF).
``address_refusal`` names why an address is refused: loopback, link-local,
private, shared (CGNAT), reserved, multicast, unspecified or otherwise not
globally routable. IPv6 forms that embed an IPv4 address (IPv4-mapped
``::ffff:a.b.c.d``, 6to4 ``2002::/16``, NAT64 ``64:ff9b::/96``) are judged
by the embedded address. Networks listed in
``PUSH_ALLOWED_INTERNAL_NETWORKS`` (CIDR, comma-separated) are allowed
anyway, for a deployment's own internal receivers.

``literal_addresses`` reads a URL's host as the resolver would read a
number (``2130706433``, ``0x7f.1``, ``0177.0.0.1`` and ``127.1`` are all
``127.0.0.1``) without any DNS lookup; ``localhost`` names count as
loopback (RFC 6761). Names are checked where it matters, after resolution
when the worker connects (``realtime.push.transport``).
"""

from __future__ import annotations

import ipaddress
import socket
from functools import cache

from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

from realtime.conf import realtime_settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

SETTING = "REALTIME_PUSH_ALLOWED_INTERNAL_NETWORKS"
NAT64 = ipaddress.ip_network("64:ff9b::/96")
LOOPBACK = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))


class TargetRefused(Exception):
    """A push target whose address the worker must not connect to (a permanent failure of the delivery)."""


@cache
def allowed_networks() -> tuple[IPNetwork, ...]:
    """The networks of ``PUSH_ALLOWED_INTERNAL_NETWORKS``; a malformed entry is ``ImproperlyConfigured``."""
    networks = []
    for entry in realtime_settings.PUSH_ALLOWED_INTERNAL_NETWORKS.split(","):
        if not entry.strip():
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"{SETTING}: {entry.strip()!r} is not a network ({exc}); give CIDRs such as 10.1.0.0/16,127.0.0.1/32."
            ) from None
    return tuple(networks)


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _kind(address: IPAddress) -> str | None:
    """Why ``address`` is not a public unicast address, or ``None`` when it is one."""
    for flag, name in (
        ("is_unspecified", "unspecified"),
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local"),
        ("is_multicast", "multicast"),
        ("is_reserved", "reserved"),
        ("is_private", "private"),
    ):
        if getattr(address, flag):
            return name
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "site-local"
    if not address.is_global:
        return "not globally routable"
    return None


def address_refusal(address: str | IPAddress) -> str | None:
    """Why the worker must not connect to ``address`` (e.g. ``"10.0.0.1 is a private address"``), or ``None``."""
    ip = ipaddress.ip_address(address.split("%", 1)[0] if isinstance(address, str) else address)
    embedded = _embedded_ipv4(ip)
    allowed = allowed_networks()
    if any(candidate in network for candidate in (ip, embedded) if candidate for network in allowed):
        return None
    judged = embedded or ip  # an address that embeds an IPv4 one reaches that one: judge it alone
    if kind := _kind(judged):
        shown = f"{ip} ({judged})" if judged is not ip else str(ip)
        return f"{shown} is a {kind} address; allow it with {SETTING} if it is your own receiver"
    return None


def literal_addresses(host: str) -> list[IPAddress] | None:
    """The addresses ``host`` stands for without DNS (an IP in any spelling, or a localhost name); else ``None``."""
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return list(LOOPBACK)
    try:
        return [ipaddress.ip_address(host.split("%", 1)[0])]
    except ValueError:
        pass
    try:  # the resolver's own number parsing (inet_aton): decimal, octal, hex and short forms
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError, ValueError):
        return None
    return [ipaddress.ip_address(info[4][0]) for info in infos]


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: object) -> None:
    if setting == "REALTIME":
        allowed_networks.cache_clear()
