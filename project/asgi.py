"""ASGI entry point: Django for HTTP, the realtime consumer for WebSockets (any other WebSocket path is refused).

``get_asgi_application()`` runs first so that Django is set up before any
consumer, model or middleware module is imported.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from realtime.auth import RealtimeAuthMiddlewareStack  # noqa: E402
from realtime.origins import OriginValidator  # noqa: E402
from realtime.routing import websocket_fallback_urlpatterns, websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": OriginValidator(
            RealtimeAuthMiddlewareStack(URLRouter([*websocket_urlpatterns, *websocket_fallback_urlpatterns]))
        ),
    }
)
