"""Registration-time checks of user-chosen push URLs: read as httpx reads them, refused when readers could disagree."""

from __future__ import annotations

import pytest

from realtime.conf import DEFAULTS
from realtime.push.targets import target_url_refusal

PUSH_HOSTS = [host.strip() for host in DEFAULTS["PUSH_WEBPUSH_HOSTS"].split(",")]


@pytest.fixture(autouse=True)
def _strict(push_settings) -> None:
    push_settings(PUSH_ALLOWED_INTERNAL_NETWORKS="", PUSH_REQUIRE_HTTPS=True)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("https://127.0.0.1/hook", "loopback"),
        ("https://[::1]:8443/hook", "loopback"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://10.0.0.5/hook", "private"),
        ("https://192.168.1.10/hook", "private"),
        ("https://0.0.0.0/hook", "unspecified"),
        ("https://[::ffff:169.254.169.254]/hook", "link-local"),
        ("https://2130706433/hook", "loopback"),
        ("https://0x7f.1/hook", "loopback"),
        ("https://localhost:8000/hook", "loopback"),
        ("https://admin.localhost/hook", "loopback"),
        ("https://user:secret@hooks.example.com/hook", "user name or password"),
        ("https://hooks.example.com\\@127.0.0.1/hook", "backslashes"),
        ("https://hooks.example.com/ho ok", "backslashes, spaces"),
        ("https://%31%32%37.0.0.1/hook", "plain DNS name"),
        ("https://0177.0.0.1/hook", "Not a valid URL"),
        ("http://hooks.example.com/hook", "https://"),
        ("ftp://hooks.example.com/hook", "http:// or https://"),
    ],
)
def test_webhook_urls_that_reach_internal_hosts_or_confuse_parsers_are_refused(url, says):
    """Internal addresses in any spelling, userinfo, backslashes and odd hosts never become a webhook."""
    refusal = target_url_refusal(url)
    assert refusal is not None
    assert says in refusal


@pytest.mark.parametrize("url", ["https://hooks.example.com/realtime", "https://93.184.215.14/hook", "https://x.io."])
def test_public_webhook_urls_pass(url):
    """Names (checked again after resolution, when the worker connects) and public addresses pass."""
    assert target_url_refusal(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1:8399\\@fcm.googleapis.com/fcm/send/x",
        "https://127.0.0.1:8399@fcm.googleapis.com/fcm/send/x",
        "https://fcm.googleapis.com\\@127.0.0.1/fcm/send/x",
        "https://fcm.googleapis.com.evil.example/x",
        "https://evilfcm.googleapis.com.example/x",
    ],
)
def test_webpush_endpoints_must_really_be_on_a_push_service(url):
    """The effective host (the one httpx connects to) must be a push service, with no userinfo or backslash."""
    assert target_url_refusal(url, hosts=PUSH_HOSTS) is not None


def test_a_real_push_service_endpoint_passes():
    """Subdomains of the listed push services pass."""
    assert target_url_refusal("https://wns2-by3p.notify.windows.com/w/?token=abc", hosts=PUSH_HOSTS) is None
