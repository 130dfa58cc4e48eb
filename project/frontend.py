"""Serve the built demo app (``frontend/dist``, a Vite build) at ``/`` and its client-side routes.

The JavaScript and CSS are static files under ``/static/frontend/``
(whitenoise); this view returns ``index.html`` for the pages the app routes
itself, and sets the CSRF cookie the app sends back on writes. Without a
build it answers 503 saying how to make one.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie

NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>Frontend not built</title>
<h1>The frontend is not built</h1>
<p>Run <code>make run</code> (it builds it), or <code>cd frontend &amp;&amp; npm ci &amp;&amp; npm run build</code>.
The API is at <a href="/api/">/api/</a>.</p>
"""


def index_candidates() -> list[Path]:
    """Where ``index.html`` may be: the Vite output, then the collected static files."""
    return [Path(settings.FRONTEND_DIST) / "index.html", Path(settings.STATIC_ROOT) / "frontend" / "index.html"]


@never_cache
@ensure_csrf_cookie
def frontend_index(request: HttpRequest) -> HttpResponse:
    for candidate in index_candidates():
        if candidate.is_file():
            return HttpResponse(candidate.read_bytes(), content_type="text/html; charset=utf-8")
    return HttpResponse(NOT_BUILT, status=503, content_type="text/html; charset=utf-8")
