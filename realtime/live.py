"""The public API for making models live: ``from realtime import live``.

In an app's ``live.py`` (imported at start-up, like ``admin.py``)::

    from realtime import live
    from snippets.views import SnippetViewSet

    @live.register
    class SnippetLive(live.LiveModel):
        viewset_class = SnippetViewSet

See ``realtime.registry.LiveModel`` for every option.
"""

from __future__ import annotations

from realtime.registry import LiveModel, registry

register = registry.register

__all__ = ["LiveModel", "register", "registry"]
