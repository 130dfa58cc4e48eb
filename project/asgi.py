"""ASGI entry point: Django for HTTP, the realtime app's WebSocket endpoint for WebSockets.

``get_asgi_application()`` runs first so that Django is set up before any
consumer, model or middleware module is imported.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from realtime.asgi import websocket_application  # noqa: E402

application = ProtocolTypeRouter({"http": django_asgi_app, "websocket": websocket_application()})
