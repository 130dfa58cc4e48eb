"""Fixtures for push tests: push settings, local provider servers, devices."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from realtime.push.models import Device
from tests.realtime.push.helpers import PUSH_SETTINGS
from tests.realtime.push.servers import H2Receiver, HTTPReceiver


@pytest.fixture
def push_settings(settings) -> Callable[..., None]:
    """Test push settings (fast backoff, http allowed); call it with more keys to override."""

    def configure(**values: Any) -> None:
        settings.REALTIME = {**settings.REALTIME, **PUSH_SETTINGS, **values}

    configure()
    return configure


@pytest.fixture
def receiver() -> Iterator[HTTPReceiver]:
    with HTTPReceiver() as server:
        yield server


@pytest.fixture
def h2_receiver() -> Iterator[H2Receiver]:
    with H2Receiver() as server:
        yield server


@pytest.fixture
def make_device(db: None) -> Callable[..., Device]:
    def make(user: Any, kind: str = Device.Kind.WEBHOOK, address: str = "", **fields: Any) -> Device:
        if kind == Device.Kind.WEBHOOK:
            fields.setdefault("secret", "webhook-secret-for-tests")
        return Device.objects.create(user=user, kind=kind, address=address, **fields)

    return make
