"""ASGI entry point of the DCRF reference: Django for HTTP, ``WidgetConsumer`` at ``/ws/dcrf/``.

Same middleware stack as the project (Origin check, session, DRF token header).
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.dcrf.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import path  # noqa: E402

from bench.dcrf.consumers import WidgetConsumer  # noqa: E402
from realtime.auth import RealtimeAuthMiddleware  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(RealtimeAuthMiddleware(URLRouter([path("ws/dcrf/", WidgetConsumer.as_asgi())])))
        ),
    }
)
