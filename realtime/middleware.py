"""``NoStoreMiddleware``: responses for a logged-in user are never stored by browsers or proxies.

An API response for an authenticated request (session or token: DRF sets
``request.user`` on the Django request when it authenticates) carries that
user's data; without ``Cache-Control`` a shared proxy or the browser's disk
cache may keep it after logout. This middleware adds ``Cache-Control:
no-store`` to every such response that did not set ``Cache-Control`` itself.
Anonymous responses are left alone. List it after
``django.contrib.auth.middleware.AuthenticationMiddleware`` in ``MIDDLEWARE``
(as ``"realtime.middleware.NoStoreMiddleware"``).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import patch_cache_control
from django.utils.deprecation import MiddlewareMixin


class NoStoreMiddleware(MiddlewareMixin):
    """A ``MiddlewareMixin`` like Django's own: usable in sync and async stacks (the lazy user may query)."""

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not response.has_header("Cache-Control"):
            patch_cache_control(response, no_store=True, private=True)
        return response
