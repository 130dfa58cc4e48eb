"""Which addresses a user-chosen push target may reach: public unicast only, plus the allowed internal networks."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from realtime.push.addresses import address_refusal, allowed_networks, literal_addresses


@pytest.fixture
def nothing_internal(push_settings) -> None:
    push_settings(PUSH_ALLOWED_INTERNAL_NETWORKS="")


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("10.0.0.5", "private"),
        ("172.16.3.4", "private"),
        ("192.168.1.10", "private"),
        ("fd00::1", "private"),
        ("100.64.0.1", "not globally routable"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("192.0.2.1", "private"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "link-local"),
        ("::ffff:10.0.0.1", "private"),
        ("2002:a00:1::", "private"),
        ("64:ff9b::a9fe:a9fe", "link-local"),
    ],
)
def test_non_public_addresses_are_refused(nothing_internal, address, kind):
    """Loopback, link-local, private, shared, reserved, multicast, unspecified, and IPv6 forms embedding them."""
    reason = address_refusal(address)
    assert reason is not None
    assert f"is a {kind} address" in reason
    assert "REALTIME_PUSH_ALLOWED_INTERNAL_NETWORKS" in reason


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_are_allowed(nothing_internal, address):
    """Public unicast addresses (also IPv4-mapped) pass."""
    assert address_refusal(address) is None


def test_allowed_internal_networks_are_allowed_and_nothing_else(push_settings):
    """PUSH_ALLOWED_INTERNAL_NETWORKS opens exactly its networks, IPv4-mapped forms included."""
    push_settings(PUSH_ALLOWED_INTERNAL_NETWORKS=" 10.1.0.0/16, ::1/128 ,")
    assert address_refusal("10.1.200.3") is None
    assert address_refusal("::ffff:10.1.0.9") is None
    assert address_refusal("::1") is None
    assert address_refusal("10.2.0.1") is not None
    assert address_refusal("127.0.0.1") is not None


def test_a_malformed_network_is_a_start_up_error(push_settings):
    """A typo in PUSH_ALLOWED_INTERNAL_NETWORKS is ImproperlyConfigured naming the setting and the entry."""
    push_settings(PUSH_ALLOWED_INTERNAL_NETWORKS="10.0.0.0/8,intranet")
    with pytest.raises(ImproperlyConfigured, match=r"PUSH_ALLOWED_INTERNAL_NETWORKS.*'intranet'"):
        allowed_networks()


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", ["127.0.0.1"]),
        ("2130706433", ["127.0.0.1"]),
        ("0x7f.1", ["127.0.0.1"]),
        ("0177.0.0.1", ["127.0.0.1"]),
        ("127.1", ["127.0.0.1"]),
        ("0xa9fea9fe", ["169.254.169.254"]),
        ("[::ffff:7f00:1]", ["::ffff:7f00:1"]),
        ("localhost", ["127.0.0.1", "::1"]),
        ("api.LOCALHOST.", ["127.0.0.1", "::1"]),
        ("hooks.example.com", None),
        ("10.0.0.1.example.com", None),
    ],
)
def test_literal_addresses_reads_every_spelling_without_dns(host, expected):
    """Decimal, hex, octal and short IPv4 forms, IPv6 literals and localhost names are addresses; names are not."""
    found = literal_addresses(host)
    assert (None if found is None else [str(address) for address in found]) == expected
