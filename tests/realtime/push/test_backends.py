"""The backends package: the ``send`` template, no optional package imported, a clear error when one is missing.

Both run in a fresh interpreter where the optional packages of push
delivery cannot be imported (a meta path finder refuses them), as on a
host project installed without the ``[push]`` extra.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from realtime.push.backends import PushBackend, PushRequest, get_backends
from realtime.push.backends.base import INSTALL_HINT, missing_modules
from realtime.push.models import Delivery, Device
from tests.realtime.push.helpers import push, run_worker
from tests.realtime.push.servers import Reply
from tests.servers import ROOT

OPTIONAL = ("httpx", "httpcore", "h2", "pywebpush", "py_vapid", "http_ece", "jwt")

BLOCK = f"""
import sys

OPTIONAL = {OPTIONAL!r}


class Uninstalled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in OPTIONAL:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)


sys.meta_path.insert(0, Uninstalled())
"""


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCK + textwrap.dedent(code)],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_test_discovery_imports_nothing_optional():
    """Discovering tests under realtime/push (every package __init__, as a host's test runner does) needs none."""
    result = run_python(
        """
        import unittest

        loader = unittest.TestLoader()
        loader.discover("realtime/push", top_level_dir=".")
        assert not loader.errors, loader.errors
        import realtime.push.backends
        import realtime.push.backends.base
        loaded = sorted(name for name in sys.modules if name.partition(".")[0] in OPTIONAL)
        assert not loaded, loaded
        print("ok")
        """,
        DJANGO_SETTINGS_MODULE="",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_a_missing_optional_package_is_a_start_up_error_naming_the_extra():
    """With realtime.push installed and its packages missing, Django's set-up fails saying how to fix it."""
    result = run_python(
        """
        import django

        django.setup()
        """,
        DJANGO_SETTINGS_MODULE="project.settings",
    )
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("django.core.exceptions.ImproperlyConfigured"), result.stderr
    assert "webhook push backend needs httpx, h2 (not installed)" in last
    assert INSTALL_HINT in last


def test_every_backend_declares_what_it_imports():
    """Each backend's dependencies are installed here; a made-up one is reported missing, not imported."""
    for backend in get_backends().values():
        assert missing_modules(backend.dependencies) == [], backend.kind
        assert isinstance(backend, PushBackend)
    assert missing_modules(("no_such_module_for_push",)) == ["no_such_module_for_push"]


@pytest.mark.django_db
def test_a_backend_is_its_request_and_how_its_answers_read(alice, make_device, receiver, push_settings):
    """A subclass writes only ``get_request`` and class attributes; the base ``send`` posts and classifies."""

    class Teapot(PushBackend):
        kind = "webhook"
        checks_addresses = True
        gone_statuses = frozenset({418})

        async def get_request(self, *, delivery: Delivery, message: dict) -> PushRequest:
            return PushRequest(f"{receiver.url}/teapot", b"{}", {"X-Device": delivery.device.name})

    make_device(alice, Device.Kind.WEBHOOK, "not used", name="kettle")
    receiver.replies.append(Reply(418, b"I'm a teapot"))
    push(alice)
    assert run_worker(backends={"webhook": Teapot()})["dropped"] == 1
    [request] = receiver.received
    assert (request.path, request.headers["x-device"]) == ("/teapot", "kettle")
    device = Device.objects.get()
    assert (device.active, device.deactivated_reason) == (False, "HTTP 418: I'm a teapot")
