"""DRF requests built outside an HTTP request: to run a REST view's own checks for a socket, and to render payloads.

* ``socket_request``: what the socket's handshake would have been as a
  ``GET`` to the REST API: its headers (``Authorization`` included), cookies
  and query string, with the user and ``request.auth`` that authenticated
  it. A live model's visibility runs the viewset's permission classes,
  ``get_queryset`` and filter backends on it, exactly as for REST.
* ``payload_request``: a request for ``REALTIME["BASE_URL"]``, given to the
  serializer that renders event payloads, so hyperlinked fields render the
  same absolute URLs as REST responses served at that address (relative
  URLs when ``BASE_URL`` is unset).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from django.http import HttpRequest, QueryDict
from rest_framework.request import Request

from realtime.conf import realtime_settings


def _meta_from_headers(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    meta: dict[str, str] = {}
    for raw_name, raw_value in headers:
        name = raw_name.decode("latin1").upper().replace("-", "_")
        value = raw_value.decode("latin1")
        key = name if name in {"CONTENT_TYPE", "CONTENT_LENGTH"} else f"HTTP_{name}"
        meta[key] = f"{meta[key]},{value}" if key in meta else value
    return meta


def socket_request(*, scope: dict[str, Any], user: Any, auth: Any = None) -> Request:
    """A ``GET`` request carrying the socket's handshake (headers, cookies, query string), user and auth."""
    http = HttpRequest()
    http.method = "GET"
    http.path = http.path_info = scope.get("path", "/")
    query_string = scope.get("query_string", b"").decode("latin1")
    http.META = _meta_from_headers(list(scope.get("headers", ())))
    client = scope.get("client") or ("", 0)
    server = scope.get("server") or ("", 0)
    http.META.update(
        {
            "REQUEST_METHOD": "GET",
            "QUERY_STRING": query_string,
            "REMOTE_ADDR": str(client[0] or ""),
            "SERVER_NAME": str(server[0] or "localhost"),
            "SERVER_PORT": str(server[1] or ""),
            "wsgi.url_scheme": "https" if scope.get("scheme") in {"wss", "https"} else "http",
        }
    )
    http.GET = QueryDict(query_string)
    http.COOKIES = dict(scope.get("cookies") or {})
    request = Request(http)
    request.user = user
    request.auth = auth
    return request


@lru_cache(maxsize=4)
def _base_url_meta(base_url: str) -> dict[str, str]:
    parts = urlsplit(base_url)
    secure = parts.scheme == "https"
    port = str(parts.port or (443 if secure else 80))
    return {
        "REQUEST_METHOD": "GET",
        "SERVER_NAME": parts.hostname or "localhost",
        "SERVER_PORT": port,
        "HTTP_HOST": parts.netloc,
        "wsgi.url_scheme": parts.scheme or "http",
    }


def payload_request() -> Request | None:
    """The request payload serializers render with: one for ``REALTIME["BASE_URL"]``, or ``None`` (relative URLs)."""
    base_url = realtime_settings.BASE_URL
    if not base_url:
        return None
    http = HttpRequest()
    http.method = "GET"
    http.META = dict(_base_url_meta(base_url))
    http.path = http.path_info = "/"
    return Request(http)
