"""A DRF router whose detail routes take hashids, with or without a trailing slash.

Routes use the ``hashid`` path converter (``lookup_value_converter`` on the
viewset), so ``view.kwargs["pk"]`` is already an integer and a malformed id
is a 404 from URL resolution. Each route is served both as ``/api/foo/`` and
``/api/foo``: clients may use either form, for every method, with no redirect.
"""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, path
from rest_framework.routers import DefaultRouter

import realtime.converters  # noqa: F401  (registers the "hashid" converter)


class HashidRouter(DefaultRouter):
    include_format_suffixes = False

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("use_regex_path", False)
        super().__init__(**kwargs)

    def get_urls(self) -> list[URLPattern]:
        urls = []
        for pattern in super().get_urls():
            urls.append(pattern)
            route = str(pattern.pattern)
            if route.endswith("/") and len(route) > 1:
                urls.append(path(route.rstrip("/"), pattern.callback))
        return urls


def optional_slash(route: str, view: Any, name: str) -> list[URLPattern]:
    """A plain (non-router) route, served with a trailing slash (named) and without one, like the router's."""
    return [path(f"{route}/", view, name=name), path(route, view)]


def drop_slashless_duplicates(endpoints: list[tuple[str, str, str, Any]]) -> list[tuple[str, str, str, Any]]:
    """drf-spectacular hook: document each route once, in its trailing-slash form."""
    documented = {path_ for path_, *_ in endpoints}
    return [e for e in endpoints if e[0].endswith("/") or f"{e[0]}/" not in documented]
