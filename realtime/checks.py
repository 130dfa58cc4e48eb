"""Django system checks of the realtime app (``manage.py check``, and every start-up).

Each check names the setting at fault and how to fix it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=False)
def check_allowed_hosts(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """``ALLOWED_HOSTS = ["*"]`` lets any ``Host`` through, and so any site origin for the WebSocket check."""
    if "*" not in settings.ALLOWED_HOSTS:
        return []
    return [
        Warning(
            "ALLOWED_HOSTS contains '*': every Host header is accepted, so a WebSocket handshake from any origin "
            "that names itself as the Host (DNS rebinding) passes the same-origin check.",
            hint="List the host names you serve in ALLOWED_HOSTS, e.g. ['example.com', 'www.example.com'].",
            id="realtime.W001",
        )
    ]
