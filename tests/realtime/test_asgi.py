"""realtime.asgi: building the WebSocket application freezes the start-up objects out of full collections, once."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from realtime import asgi


@pytest.fixture
def unfrozen(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A process that has frozen nothing yet; whatever the test froze is given back to the collector."""
    monkeypatch.setattr(asgi, "_frozen", False)
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_the_application_freezes_what_is_alive_once(unfrozen: None, settings) -> None:
    """With GC_FREEZE (the default) the objects alive when it is built leave the collector's generations, once."""
    settings.REALTIME = {}
    kept = ["alive at start-up"]
    asgi.websocket_application()
    later = ["made afterwards"]
    frozen = gc.get_freeze_count()
    assert frozen > 1000  # every module, class and function loaded so far
    walked = [obj for obj in gc.get_objects() if obj is kept or obj is later]
    assert len(walked) == 1  # a full collection walks what came later, not what was frozen
    assert walked[0] is later
    asgi.websocket_application()
    assert gc.get_freeze_count() == frozen  # the second application froze nothing more
    assert asgi.freeze_startup_objects() is False


def test_gc_freeze_off_leaves_the_collector_alone(unfrozen: None, settings) -> None:
    """REALTIME["GC_FREEZE"] = False: nothing is frozen."""
    settings.REALTIME = {"GC_FREEZE": False}
    asgi.websocket_application()
    assert gc.get_freeze_count() == 0
    assert asgi._frozen is False
